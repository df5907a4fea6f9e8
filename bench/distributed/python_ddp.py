"""The distributed benchmark's peer: the same job in Python with
torch.distributed (Gloo) and DistributedDataParallel, on the same
TorchScript classifier file and the same LibTorch: forward, cross-entropy,
backward (DDP averages the gradients), Adam (AMSGrad), MARS-SP projection as
an op chain (bench/step/python_step.py's). With WORLD_SIZE set, one rank of
a job; else the only process. Rank 0 prints the global images/s as JSON.
    /usr/bin/python3 bench/distributed/python_ddp.py MODEL.pt BATCH C H W THREADS STEPS"""
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ beside python_step.py in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "step"))
from python_step import seconds_per_step  # noqa: E402

path, batch, c, h, w, threads, steps = sys.argv[1], *map(int, sys.argv[2:8])
torch.set_num_threads(threads)
torch.manual_seed(0)
world = int(os.environ.get("WORLD_SIZE", "1"))
rank = int(os.environ.get("RANK", "0"))
m = torch.jit.load(path)
m.train()


class Wrapper(nn.Module):
    """DDP wants an nn.Module; the TorchScript classifier sits inside, sharing its tensors."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


net = Wrapper(m)
if world > 1:
    dist.init_process_group("gloo", rank=rank, world_size=world)
    net = nn.parallel.DistributedDataParallel(net)
x = torch.randn(batch, c, h, w)
y = torch.arange(batch) % 5
seconds = seconds_per_step(net, m, x, y, steps)
if rank == 0:
    print(json.dumps({"imagesPerSecond": batch * world / seconds, "secondsPerStep": seconds}))
if world > 1:
    dist.barrier()
    dist.destroy_process_group()
