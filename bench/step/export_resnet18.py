"""Exports torchvision's ResNet-18 without its head (random weights; speed
does not depend on them) as TorchScript for the step benchmark."""
import sys

import torch
import torchvision

torch.manual_seed(0)
net = torchvision.models.resnet18(weights=None)
net.fc = torch.nn.Identity()
torch.jit.script(net.eval()).save(sys.argv[1])
