"""The peer of the end-to-end benchmark: the package's default fine-tuning job
written as a plain PyTorch script, as a Python user would write it.

    /usr/bin/python3 python_finetune.py JOB.json

JOB.json (written by bench/e2e/run.mjs) names the backbone, the IDX files, the
training rows (the same items the package's --classes/--per-class selection
picks), the classes, epochs, batch size, threads, seed and the output file.

The recipe is the package's default (method.md): a new linear head on the
TorchScript backbone (features averaged when it returns maps), cross-entropy,
Adam with AMSGrad at 1e-4, the learning rate halved every 20 epochs, and after
every step the MARS-SP projection as the reference applies it: each backbone
conv/linear weight row rescaled into its l1 ball (radius 2) around its starting
value, the head's rows into the ball of radius 10 around zero, and the
BatchNorm scales clipped within 2 of their starting values. Then accuracy on
the test split and the classifier saved as TorchScript. Prints one JSON line.
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
torch.manual_seed(job["seed"])


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndims).reshape(dims)


def as_tensors(images, labels, rows, classes):
    relabel = {c: i for i, c in enumerate(classes)}
    x = torch.from_numpy(images[rows]).float().div_(255).unsqueeze(1)
    y = torch.tensor([relabel[int(labels[r])] for r in rows])
    return TensorDataset(x, y)


train_images, train_labels = read_idx(job["trainImages"]), read_idx(job["trainLabels"])
test_images, test_labels = read_idx(job["testImages"]), read_idx(job["testLabels"])
classes = job["classes"]
train = as_tensors(train_images, train_labels, job["trainRows"], classes)
test_rows = [i for i, label in enumerate(test_labels) if int(label) in classes]
test = as_tensors(test_images, test_labels, test_rows, classes)


class Classifier(nn.Module):
    def __init__(self, backbone, features, classes, pool):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(features, classes)
        self.pool = pool

    def forward(self, x):
        f = self.backbone(x)
        return self.head(f.mean(dim=[2, 3]) if self.pool else f)


backbone = torch.jit.load(job["backbone"])
backbone.eval()
with torch.no_grad():
    probe = backbone(train[0][0].unsqueeze(0))
model = Classifier(backbone, probe.shape[1], len(classes), probe.dim() == 4)
model.train()

params = dict(model.named_parameters())
init = {n: p.detach().clone() for n, p in params.items()}
buffers = dict(model.named_buffers())
init_var = {n: b.clone() for n, b in buffers.items() if n.endswith(".running_var")}
kinds = {n: m.original_name for n, m in model.backbone.named_modules() if hasattr(m, "original_name")}
mars_rows = [n for n in params if n.endswith(".weight") and kinds.get(n[len("backbone.") :].rpartition(".")[0]) in ("Conv2d", "Linear")]
batchnorms = [n for n in params if n.endswith(".weight") and kinds.get(n[len("backbone.") :].rpartition(".")[0], "").startswith("BatchNorm")]


def project(radius=2.0, head_radius=10.0, eps=1e-6):
    with torch.no_grad():
        for n in mars_rows + ["head.weight"]:
            p = params[n]
            centre = torch.zeros_like(p) if n == "head.weight" else init[n]
            r = head_radius if n == "head.weight" else radius
            d = (p - centre).reshape(p.shape[0], -1)
            s = d.abs().sum(1, keepdim=True)
            p.copy_(centre + torch.where(s > r, d * (r / s), d).reshape(p.shape))
        for n in batchnorms:
            var = buffers[n[: -len("weight")] + "running_var"]
            var0 = init_var[n[: -len("weight")] + "running_var"]
            scale, scale0 = params[n] / torch.sqrt(var + eps), init[n] / torch.sqrt(var0 + eps)
            params[n].copy_((scale0 + (scale - scale0).clamp(-radius, radius)) * torch.sqrt(var + eps))


optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)
schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
loader = DataLoader(train, batch_size=job["batchSize"], shuffle=True)
history = []
for epoch in range(job["epochs"]):
    started = time.perf_counter()
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in loader:
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        project()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    schedule.step()
    history.append({"epoch": epoch + 1, "loss": loss_sum / count, "accuracy": correct / count, "seconds": time.perf_counter() - started})

model.eval()
correct = 0
with torch.no_grad():
    for x, y in DataLoader(test, batch_size=job["batchSize"]):
        correct += (model(x).argmax(1) == y).sum().item()
torch.jit.script(model).save(job["out"])
print(json.dumps({"testAccuracy": correct / len(test), "history": history}))
