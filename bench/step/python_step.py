"""The same fine-tuning step as the Node package, written in Python with
PyTorch: forward, cross-entropy, backward, Adam (AMSGrad), MARS-SP projection
(op chain) on the same TorchScript classifier file. Prints images/s as JSON.
    /usr/bin/python3 bench/step/python_step.py MODEL.pt BATCH C H W THREADS STEPS [DEVICE]
Each step reads the loss back (.item()), as the package's step does."""
import json
import sys
import time

import torch
import torch.nn.functional as F

path, batch, c, h, w, threads, steps = sys.argv[1], *map(int, sys.argv[2:8])
device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
torch.set_num_threads(threads)
torch.manual_seed(0)
m = torch.jit.load(path, map_location=device)
m.train()
params = dict(m.named_parameters())
init = {n: p.detach().clone() for n, p in params.items()}
modules = dict(m.named_modules())
constrained = [n for n in params if n.endswith(".weight") and modules[n.rpartition(".")[0]].original_name in ("Conv2d", "Linear")]
opt = torch.optim.Adam(params.values(), lr=1e-4, amsgrad=True)
x = torch.randn(batch, c, h, w, device=device)
y = torch.randint(0, 5, (batch,), device=device)


def step():
    opt.zero_grad()
    loss = F.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    loss.item()
    with torch.no_grad():
        for n in constrained:
            p = params[n]
            radius = 10.0 if n == "head.weight" else 2.0
            centre = torch.zeros_like(p) if n == "head.weight" else init[n]
            d = (p - centre).reshape(p.shape[0], -1)
            s = d.abs().sum(1, keepdim=True)
            p.copy_(centre + torch.where(s > radius, d * (radius / s), d).reshape(p.shape))


for _ in range(3):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
seconds = time.perf_counter() - start
print(json.dumps({"imagesPerSecond": batch * steps / seconds, "secondsPerStep": seconds / steps}))
