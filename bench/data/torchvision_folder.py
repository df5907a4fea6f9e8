"""The peer of bench/data/run.mjs: torchvision ImageFolder + DataLoader(num_workers) over the same folder.

    python3 torchvision_folder.py FOLDER EPOCHS WORKERS BATCH

Prints JSON: the seconds of each full epoch (worker start-up included, as a
training epoch pays it with the default persistent_workers=False), and the CPU
seconds it took, the workers' included (they exit with the epoch).
"""
import json
import resource
import sys
import time

import torch
import torchvision
from torchvision import transforms as T

folder, epochs, workers, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
transform = T.Compose([T.Resize(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
loader = torch.utils.data.DataLoader(
    torchvision.datasets.ImageFolder(folder, transform=transform), batch_size=batch, num_workers=workers
)


def cpu():
    return sum(r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))


seconds, cpu_seconds = [], []
for _ in range(epochs):
    start, start_cpu = time.perf_counter(), cpu()
    items = sum(x.shape[0] for x, _ in loader)
    seconds.append(time.perf_counter() - start)
    cpu_seconds.append(cpu() - start_cpu)
print(json.dumps(dict(items=items, seconds=seconds, cpuSeconds=cpu_seconds, torch=torch.__version__, torchvision=torchvision.__version__)))
