"""The same fine-tuning step as the Node package, written in Python with
PyTorch: forward, cross-entropy, backward, Adam (AMSGrad), MARS-SP projection
(op chain) on the same TorchScript classifier file. Prints images/s as JSON,
one line per precision.
    /usr/bin/python3 bench/step/python_step.py MODEL.pt BATCH C H W THREADS STEPS [DEVICE] [PRECISIONS]
PRECISIONS: comma-separated fp32 (default), bf16, fp16: forward and loss under
torch.autocast in that type, fp16 with torch.amp.GradScaler, as the package's
`precision` option does. Each step reads the loss back (.item()), as the
package's step does."""
import json
import sys
import time

import torch
import torch.nn.functional as F

path, batch, c, h, w, threads, steps = sys.argv[1], *map(int, sys.argv[2:8])
device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
precisions = sys.argv[9].split(",") if len(sys.argv) > 9 else ["fp32"]
torch.set_num_threads(threads)


def measure(precision):
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
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler(device) if precision == "fp16" else None

    def step():
        opt.zero_grad()
        with torch.autocast(device.split(":")[0], dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(m(x), y)
        loss.item()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
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
    return {"precision": precision, "imagesPerSecond": batch * steps / seconds, "secondsPerStep": seconds / steps}


for precision in precisions:
    print(json.dumps(measure(precision)), flush=True)
