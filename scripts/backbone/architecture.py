"""The embedded default backbone's architecture (benchmarks.md A): a small
ResNet for 28x28 grey images, with BatchNorm, residual blocks, strided
convolutions and no max pooling, so that the MARS bound covers it. Its
forward returns feature maps (B, 64, 7, 7); the package's head averages them.
    /usr/bin/python3 scripts/backbone/architecture.py OUT.pt [SEED]
exports it with random initial weights as TorchScript."""
import os
import sys

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    """Residual block with BatchNorm; `stride` 2 halves the map and projects the shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class DefaultBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(self.stem(x))))


if __name__ == "__main__":
    torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    net = torch.jit.script(DefaultBackbone().eval())
    net.save(sys.argv[1] + ".tmp")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
