"""Screens candidate source sets quickly on a GPU with PyTorch before one is
pre-trained with the package on the CPU (issue 13): pre-trains the source
backbone (scripts/backbone/resnet.py + a linear head on the averaged maps,
Adam 2e-3, cosine to 5%, batch 128), then on Fashion-MNIST (all 10 classes,
n images per class, seed s draws the images, scored on the 10000 test
images) fine-tunes it, trains the same architecture from scratch, and fits a
linear probe on the frozen backbone (BatchNorm in eval mode): the package's
recipe (new linear head, Adam with AMSGrad, cosine to 0, batch 32, BatchNorm
in training mode), in PyTorch. A decision aid: the committed figures come
from scripts/experiments/regime.mjs.

    python3 scripts/source/screen.py FMNIST_DIR SOURCE[:LO-HI] [SOURCE ...] [--epochs 3]
        [--sizes 10:60:5,50:30:3] [--lr 1e-3] [--head mean|flat] [--out screen.json]

SOURCE is a folder written by make.py; :LO-HI keeps its classes LO..HI-1.
--sizes lists n:epochs:seeds. --head flat feeds the head the flattened maps
instead of their mean."""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "backbone"))
from resnet import SourceResNet  # noqa: E402

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def read_idx(path):
    with gzip.open(path) as f:
        b = f.read()
    shape = struct.unpack(">" + "I" * b[3], b[4:4 + 4 * b[3]])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * b[3]).reshape(shape)


def images(path):
    return torch.tensor(read_idx(path), dtype=torch.float32, device=DEV).unsqueeze(1) / 255


def labels(path):
    return torch.tensor(read_idx(path).astype(np.int64), device=DEV)


class Net(nn.Module):
    def __init__(self, classes, flat, backbone=None):
        super().__init__()
        self.flat = flat
        self.backbone = backbone or SourceResNet()
        self.head = nn.Linear(4096 if flat else 256, classes)

    def forward(self, x):
        f = self.backbone(x)
        return self.head(f.flatten(1) if self.flat else f.mean((2, 3)))


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        correct = sum((net(x[i:i + 2000]).argmax(1) == y[i:i + 2000]).sum().item() for i in range(0, len(x), 2000))
    net.train()
    return correct / len(x)


def train(net, x, y, epochs, lr, batch, seed, floor=0.0, params=None, amsgrad=True):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params if params is not None else net.parameters(), lr=lr, amsgrad=amsgrad)
    steps, k = epochs * -(-len(x) // batch), 0
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g).to(DEV)
        for i in range(0, len(x), batch):
            for group in opt.param_groups:
                group["lr"] = lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * k / steps)))
            idx = perm[i:i + batch]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            k += 1
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fmnist")
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--epochs", default="3", help="pre-training epochs, comma-separated for several")
    ap.add_argument("--sizes", default="10:60:5,50:30:3")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--head", choices=["mean", "flat"], default="mean")
    ap.add_argument("--out", default="screen.json")
    args = ap.parse_args()
    flat = args.head == "flat"
    fx, fy = images(f"{args.fmnist}/train-images-idx3-ubyte.gz"), labels(f"{args.fmnist}/train-labels-idx1-ubyte.gz")
    tx, ty = images(f"{args.fmnist}/t10k-images-idx3-ubyte.gz"), labels(f"{args.fmnist}/t10k-labels-idx1-ubyte.gz")
    pool = fy.cpu().numpy()
    results = {"device": torch.cuda.get_device_name() if DEV == "cuda" else "cpu", "torch": torch.__version__, "head": args.head, "runs": {}}
    for spec in args.sources:
        folder, _, keep = spec.partition(":")
        gx, gy = images(f"{folder}/train-images.idx.gz"), labels(f"{folder}/train-labels.idx.gz")
        hx, hy = images(f"{folder}/test-images.idx.gz"), labels(f"{folder}/test-labels.idx.gz")
        if keep:
            lo, hi = map(int, keep.split("-"))
            m, mh = (gy >= lo) & (gy < hi), (hy >= lo) & (hy < hi)
            gx, gy, hx, hy = gx[m], gy[m] - lo, hx[mh], hy[mh] - lo
        for epochs in map(int, args.epochs.split(",")):
            torch.manual_seed(0)
            t0 = time.time()
            net = train(Net(int(gy.max()) + 1, flat).to(DEV), gx, gy, epochs, 2e-3, 128, 0, floor=0.05, amsgrad=False)
            run = {"sourceHeldOut": accuracy(net, hx, hy), "pretrainSeconds": time.time() - t0}
            print(f"{spec} pre-trained {epochs} epochs: held-out {run['sourceHeldOut']:.4f} ({run['pretrainSeconds']:.0f} s)", flush=True)
            weights = {k: v.clone() for k, v in net.backbone.state_dict().items()}

            def pretrained():
                b = SourceResNet().to(DEV)
                b.load_state_dict(weights)
                return b

            for size in args.sizes.split(","):
                n, ep, seeds = map(int, size.split(":"))
                row = {"scratch": [], "fine-tune": [], "probe": []}
                for s in range(seeds):
                    rng = np.random.default_rng(100 + s)
                    pick = np.concatenate([rng.choice(np.flatnonzero(pool == c), n, replace=False) for c in range(10)])
                    x, y = fx[pick], fy[pick]
                    torch.manual_seed(1000 + s)
                    row["scratch"].append(accuracy(train(Net(10, flat).to(DEV), x, y, ep, args.lr, 32, s), tx, ty))
                    torch.manual_seed(1000 + s)
                    row["fine-tune"].append(accuracy(train(Net(10, flat, pretrained()).to(DEV), x, y, ep, args.lr, 32, s), tx, ty))
                    torch.manual_seed(1000 + s)
                    frozen = pretrained().eval()
                    frozen.train = lambda mode=True, b=frozen: b  # stays in eval mode: running statistics as pre-trained
                    probe = Net(10, flat, frozen).to(DEV)
                    row["probe"].append(accuracy(train(probe, x, y, ep, 1e-2, 32, s, params=list(probe.head.parameters())), tx, ty))
                gap = np.array(row["fine-tune"]) - np.array(row["scratch"])
                run[f"n{n}"] = row | {"gapMean": float(gap.mean()), "gapStd": float(gap.std(ddof=1)) if seeds > 1 else None}
                print(spec, epochs, n, {k: f"{100 * np.mean(v):.1f}" for k, v in row.items()}, f"gap {100 * gap.mean():.1f}", flush=True)
            results["runs"][f"{spec}/{epochs}"] = run
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
