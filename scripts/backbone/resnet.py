"""The source backbone of issue 13: a ResNet for 28x28 grey images with
BatchNorm, 1.5M parameters, strided convolutions and no max pooling (so the
MARS bound covers it). 28x28 -> stem (32) -> 14x14 (64) -> 7x7 (128, two
blocks) -> 4x4 (256); forward returns the feature maps (B, 256, 4, 4), which
the package's head averages. Most parameters sit at low resolution, so a
training step costs about 50M multiply-adds an image (2-core CPU budget).
    /usr/bin/python3 scripts/backbone/resnet.py OUT.pt [SEED]
exports it with random initial weights (PyTorch's default initialisation,
seeded) as TorchScript."""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from architecture import BasicBlock  # noqa: E402


class SourceResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.layer1 = BasicBlock(32, 64, 2)
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
        self.layer3 = BasicBlock(128, 256, 2)

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(self.stem(x))))


if __name__ == "__main__":
    torch.manual_seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    net = torch.jit.script(SourceResNet().eval())
    net.save(sys.argv[1] + ".tmp")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
