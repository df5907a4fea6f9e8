"""Writes a TorchScript network that nobody has seen before: its depth,
widths, input channels, activation and pooling are drawn from the operating
system's randomness at every run, so no fixture or cache can stand in for it.
It returns (B, C, H, W) feature maps, as a backbone does.

    /usr/bin/python3 scripts/unseen-net.py OUT.pt

Prints the drawn architecture as one JSON line."""
import json
import random
import sys

import torch
import torch.nn as nn

rng = random.SystemRandom()
spec = {
    "inChannels": rng.choice([1, 3]),
    "widths": [rng.randint(4, 12) for _ in range(rng.randint(2, 4))],
    "activation": rng.choice(["relu", "gelu", "tanh", "silu"]),
    "batchnorm": rng.choice([True, False]),
    "pool": rng.choice(["avg", "stride"]),
}
act = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}[spec["activation"]]
layers, channels = [], spec["inChannels"]
for i, width in enumerate(spec["widths"]):
    stride = 2 if spec["pool"] == "stride" and i > 0 else 1
    layers += [nn.Conv2d(channels, width, 3, stride=stride, padding=1, bias=not spec["batchnorm"])]
    layers += [nn.BatchNorm2d(width)] if spec["batchnorm"] else []
    layers += [act()]
    layers += [nn.AvgPool2d(2)] if spec["pool"] == "avg" and i < len(spec["widths"]) - 1 else []
    channels = width
torch.manual_seed(rng.randrange(2**31))
net = nn.Sequential(*layers).eval()
torch.jit.script(net).save(sys.argv[1])
print(json.dumps(spec))
