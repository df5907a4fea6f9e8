"""Writes the conv/linear weight shapes of torchvision's ResNet-18 and ResNet-50
(the tensors MARS-SP projects) to bench/projection/shapes.json.

    /usr/bin/python3 bench/projection/shapes.py
"""
import json
import os

import torch
import torchvision


def weight_shapes(model):
    out = []
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            out.append({'name': name + '.weight', 'shape': list(module.weight.shape)})
    return out


def main():
    shapes = {
        'torchvision': torchvision.__version__,
        'resnet18': weight_shapes(torchvision.models.resnet18()),
        'resnet50': weight_shapes(torchvision.models.resnet50()),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'shapes.json')
    with open(path, 'w') as f:  # one tensor per line
        f.write('{\n "torchvision": %s,\n' % json.dumps(shapes['torchvision']))
        for i, k in enumerate(('resnet18', 'resnet50')):
            rows = ',\n'.join('  ' + json.dumps(s) for s in shapes[k])
            f.write(' %s: [\n%s\n ]%s\n' % (json.dumps(k), rows, ',' if i == 0 else ''))
        f.write('}\n')
    for k in ('resnet18', 'resnet50'):
        n = sum(torch.Size(s['shape']).numel() for s in shapes[k])
        print(f"{k}: {len(shapes[k])} tensors, {n} elements")


if __name__ == '__main__':
    main()
