"""A network the bound's fixtures never had, made at test time: biases
everywhere, BatchNorm folded after convolutions and after a linear layer, a
lone BatchNorm, tanh and a residual addition, on 1-channel images. Also writes
greyscale PNGs in class subfolders for `mars-ft bound` to read.

    /usr/bin/python3 test/bound/unseen.py OUT_DIR

writes OUT_DIR/model.pt (fine-tuned), OUT_DIR/init.pt (where it started) and
OUT_DIR/images/CLASS/*.png. reference.py imports the class `Unseen` from here."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


class Unseen(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 5, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(5)
        self.conv2 = nn.Conv2d(5, 5, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(5)
        self.conv3 = nn.Conv2d(5, 7, 3, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(7)
        self.fc1 = nn.Linear(7, 9)
        self.bn4 = nn.BatchNorm1d(9)
        self.fc2 = nn.Linear(9, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = x + torch.tanh(self.bn2(self.conv2(x)))
        x = self.bn3(F.avg_pool2d(F.relu(self.conv3(x)), 2))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc2(F.relu(self.bn4(self.fc1(x))))


def settle(net, generator):
    """Training-mode batches, so that running statistics are not their defaults."""
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(8, 1, 12, 12, generator=generator) * 1.3)
    net.eval()


def main(out):
    torch.manual_seed(11)
    generator = torch.Generator().manual_seed(12)
    init = Unseen()
    settle(init, generator)
    model = Unseen()
    model.load_state_dict(init.state_dict())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.07 * torch.randn(p.shape, generator=generator))
    settle(model, generator)
    torch.jit.script(model).save(os.path.join(out, "model.pt"))
    torch.jit.script(init).save(os.path.join(out, "init.pt"))
    rng = np.random.default_rng(13)
    for c in ("ankle", "bag", "coat"):
        os.makedirs(os.path.join(out, "images", c), exist_ok=True)
        for i in range(7):
            pixels = rng.integers(0, 256, (12, 12), dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(os.path.join(out, "images", c, f"{i}.png"))


if __name__ == "__main__":
    main(sys.argv[1])
