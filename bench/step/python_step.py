"""The same fine-tuning step as the Node package, written in Python with
PyTorch: forward, cross-entropy, backward, Adam (AMSGrad), MARS-SP projection
(op chain) on the same TorchScript classifier file. Prints images/s as JSON,
one line per precision.
    /usr/bin/python3 bench/step/python_step.py MODEL.pt BATCH C H W THREADS STEPS [DEVICE] [PRECISIONS]
PRECISIONS: comma-separated fp32 (default), bf16, fp16: forward and loss under
torch.autocast in that type, fp16 with torch.amp.GradScaler, as the package's
`precision` option does. Each step reads the loss back (.item()), as the
package's step does. bench/distributed/python_ddp.py times its steps with
seconds_per_step."""
import json
import sys
import time

import torch
import torch.nn.functional as F


def constrained_weights(m):
    """The classifier's conv and linear weights, which MARS-SP projects."""
    modules = dict(m.named_modules())
    return [n for n, _ in m.named_parameters() if n.endswith(".weight") and modules[n.rpartition(".")[0]].original_name in ("Conv2d", "Linear")]


def project(params, init, constrained):
    """MARS-SP's projection: rows back to l1 distance 2 of W0 (backbone) and l1 norm 10 (head)."""
    with torch.no_grad():
        for n in constrained:
            p = params[n]
            radius = 10.0 if n == "head.weight" else 2.0
            centre = torch.zeros_like(p) if n == "head.weight" else init[n]
            d = (p - centre).reshape(p.shape[0], -1)
            s = d.abs().sum(1, keepdim=True)
            p.copy_(centre + torch.where(s > radius, d * (radius / s), d).reshape(p.shape))


def seconds_per_step(net, m, x, y, steps, precision="fp32"):
    """The step (forward through `net`, cross-entropy, backward, Adam with
    AMSGrad, MARS-SP's projection of classifier `m`'s weights), timed over
    `steps` steps after 3 warm-up steps."""
    params = dict(m.named_parameters())
    init = {n: p.detach().clone() for n, p in params.items()}
    constrained = constrained_weights(m)
    opt = torch.optim.Adam(params.values(), lr=1e-4, amsgrad=True)
    device = x.device.type
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler(device) if precision == "fp16" else None

    def step():
        opt.zero_grad()
        with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(net(x), y)
        loss.item()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        project(params, init, constrained)

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main():
    path, batch, c, h, w, threads, steps = sys.argv[1], *map(int, sys.argv[2:8])
    device = sys.argv[8] if len(sys.argv) > 8 else "cpu"
    precisions = sys.argv[9].split(",") if len(sys.argv) > 9 else ["fp32"]
    torch.set_num_threads(threads)
    for precision in precisions:
        torch.manual_seed(0)
        m = torch.jit.load(path, map_location=device)
        m.train()
        x = torch.randn(batch, c, h, w, device=device)
        y = torch.randint(0, 5, (batch,), device=device)
        seconds = seconds_per_step(m, m, x, y, steps, precision)
        print(json.dumps({"precision": precision, "imagesPerSecond": batch / seconds, "secondsPerStep": seconds}), flush=True)


if __name__ == "__main__":
    main()
