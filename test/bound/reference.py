"""An independent reference for the bound of docs/bound.md, used by the tests
as their oracle. It shares no code with the package: it rebuilds each fixture
network from its Python class (scripts/fixtures/bound_networks.py), loads the
TorchScript weights into it, traces the *Python* module with torch.fx (not
TorchScript's IR) and applies the recursion with numpy in float64. Spectral
norms come from the operator's explicit matrix (exact), not power iteration.

    /usr/bin/python3 test/bound/reference.py FIXTURE_DIR REQUESTS.json

REQUESTS: a list of {case, mode: posthoc|apriori, radii?, margin?, delta?,
model?, init?, idx?, folder?, network?}: `model` and `init` name other files
of the fixture folder (NAME.mars.pt, NAME.centre.pt) or absolute paths;
idx = {images, labels, classes, perClass} reads the data from IDX files and
folder = DIR from a folder of class subfolders of greyscale PNGs instead of
the fixture's own; network = {file, class, init: full|backbone} takes the
Python class from another file (then `case` only labels the result).
Prints a JSON list of results.

The recursion is docs/bound.md's table: linear/conv A(out) =
max_r (||W0_r||_1 + D_r) A(in) + max_r (|b0_r| + Db_r) sqrt(m), concatenation
A = sum of A, Q = max of Q. A priori radii are keyed by parameter name, with
MARS-SP's BatchNorm clip (on gamma / sqrt(var + 1e-6)) turned into a radius
of the module's scale gamma / sqrt(var + eps)."""
import importlib.util
import glob
import gzip
import json
import math
import operator
import os
import struct
import sys

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.fx.passes.shape_prop import ShapeProp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixtures"))
from bound_networks import CASES  # noqa: E402

TWICE = {torch.relu, F.relu, torch.tanh, F.leaky_relu, "relu", "tanh"}
SAME = {torch.flatten, F.adaptive_avg_pool2d, F.avg_pool2d, F.dropout, "flatten", "view", "reshape", "mean", "unsqueeze"}


class Unsupported(Exception):
    pass


def network_class(request):
    if "network" in request:
        spec = importlib.util.spec_from_file_location("unseen_network", request["network"]["file"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, request["network"]["class"]), request["network"]["init"]
    cls, _, _, init_kind, _, _ = CASES[request["case"]]
    return cls, init_kind


def load_networks(fixtures, request):
    cls, init_kind = network_class(request)
    path = lambda key, default: os.path.join(fixtures, request.get(key, request["case"] + default))  # noqa: E731
    model = cls()
    model.load_state_dict(torch.jit.load(path("model", ".model.pt")).state_dict())
    init = cls()
    saved = torch.jit.load(path("init", ".init.pt")).state_dict()
    if init_kind == "backbone":
        init.backbone.load_state_dict(saved)
        with torch.no_grad():
            for p in init.head.parameters():
                p.zero_()
    else:
        init.load_state_dict(saved)
    return model.eval(), init.eval()


def read_folder(folder):
    """Class subfolders in name order; PNGs as 8-bit grey, v / 255 in float32."""
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    xs, ys = [], []
    for label, name in enumerate(classes):
        for f in sorted(glob.glob(os.path.join(folder, name, "*.png"))):
            xs.append(np.asarray(Image.open(f).convert("L"), dtype=np.uint8))
            ys.append(label)
    return np.stack(xs).astype(np.float32)[:, None] / np.float32(255), np.array(ys, dtype=np.int64)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = [struct.unpack(">I", data[4 + 4 * i: 8 + 4 * i])[0] for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load_data(fixtures, case, idx, folder):
    if folder:
        return read_folder(folder)
    if idx:
        images, labels = read_idx(idx["images"]), read_idx(idx["labels"])
        keep, count = [], {}
        for i, y in enumerate(labels):
            if y < idx["classes"] and count.get(y, 0) < idx["perClass"]:
                keep.append(i)
                count[y] = count.get(y, 0) + 1
        x = images[keep].astype(np.float32)[:, None] / np.float32(255)
        return x, labels[keep].astype(np.int64)
    meta = json.load(open(os.path.join(fixtures, case + ".json")))
    x = np.fromfile(os.path.join(fixtures, case + ".inputs.bin"), dtype="<f4").reshape(meta["shape"])
    y = np.fromfile(os.path.join(fixtures, case + ".labels.bin"), dtype="<i4").astype(np.int64)
    return x, y


def rows(t):
    """A weight as rows (first axis); a vector w used as h @ w is the one row of w·h."""
    t = t.detach().double()
    return t.reshape(t.shape[0], -1).numpy() if t.dim() > 1 else t.reshape(1, -1).numpy()


def affine(net, layer, bn):
    """(W, b, s) of a layer with an optional BatchNorm folded in; a lone BatchNorm has W = I (one column)."""
    if layer is None:
        W, b = np.ones((bn.num_features, 1)), np.zeros(bn.num_features)
    elif isinstance(layer, tuple):  # matmul: (parameter name, rows are its columns?)
        param = net.get_parameter(layer[0])
        p = rows(param)
        W = p.T if layer[1] and param.dim() > 1 else p
        b = np.zeros(W.shape[0])
    else:
        W = rows(layer.weight)
        b = layer.bias.detach().double().numpy() if layer.bias is not None else np.zeros(W.shape[0])
    if bn is None:
        return W, b, None
    s = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
    t = bn.bias.detach().double().numpy() - s * bn.running_mean.double().numpy()
    return s[:, None] * W, s * b + t, s


def operator_matrix(W, conv, in_shape):
    """The layer's operator as an explicit matrix (outputs x inputs)."""
    if conv is None:
        return W
    n = int(np.prod(in_shape[1:]))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *in_shape[1:])
    weight = torch.from_numpy(W).reshape(conv.weight.shape)
    out = F.conv2d(basis, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)
    return out.reshape(n, -1).T.numpy()


BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)


class Walker:
    """The recursion over the fx graph of the Python module."""

    def __init__(self, model, init, sample):
        self.model, self.init = model, init
        self.gm = torch.fx.symbolic_trace(model)
        ShapeProp(self.gm).propagate(torch.from_numpy(sample[:3]))
        self.layers = []

    def target(self, node):
        return self.model.get_submodule(node.target) if node.op == "call_module" else None

    def plan(self):
        """Layers and steps. A BatchNorm is folded into the conv/linear before it when only it reads
        that layer's output and it normalises the layer's output units (a linear layer's only on 2-D values)."""
        steps, folded = [], {}
        for node in self.gm.graph.nodes:
            mod = self.target(node)
            args = [a for a in node.args if isinstance(a, torch.fx.Node)]
            if node.op in ("placeholder", "get_attr", "output"):
                continue
            if node.op == "call_method" and node.target in ("size", "t"):
                continue
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                users = list(node.users)
                out_rank = len(node.meta["tensor_meta"].shape)
                units = isinstance(mod, nn.Conv2d) or out_rank == 2
                bn = users[0] if len(users) == 1 and units and isinstance(self.target(users[0]), BATCHNORM) else None
                self.layers.append({"name": node.target, "weight": node.target + ".weight",
                                    "bias": node.target + ".bias" if mod.bias is not None else None,
                                    "layer": node.target, "bn": bn.target if bn else None,
                                    "conv": node.target if isinstance(mod, nn.Conv2d) else None,
                                    "in": node.args[0].meta["tensor_meta"].shape,
                                    "out": (bn or node).meta["tensor_meta"].shape})
                steps.append(("layer", len(self.layers) - 1, args[0], bn or node))
                if bn:
                    folded[bn] = True
            elif isinstance(mod, BATCHNORM):
                if node in folded:
                    continue
                self.layers.append({"name": node.target, "weight": None, "bias": None, "layer": None, "bn": node.target,
                                    "conv": None, "in": node.meta["tensor_meta"].shape, "out": node.meta["tensor_meta"].shape})
                steps.append(("layer", len(self.layers) - 1, args[0], node))
            elif isinstance(mod, (nn.ReLU, nn.Tanh)) or (isinstance(mod, nn.LeakyReLU) and abs(mod.negative_slope) <= 1):
                steps.append(("scale", 2, args[0], node))
            elif isinstance(mod, (nn.Dropout, nn.Identity, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
                steps.append(("scale", 1, args[0], node))
            elif node.op in ("call_function", "call_method") and node.target in TWICE:
                steps.append(("scale", 2, args[0], node))
            elif node.op in ("call_function", "call_method") and node.target in SAME:
                steps.append(("scale", 1, args[0], node))
            elif node.target in (operator.add, torch.add):
                steps.append(("sum", args, node))
            elif node.target is torch.cat:
                steps.append(("concat", list(node.args[0]), node))
            elif node.target in (operator.matmul, torch.matmul):
                other = node.args[1]
                transposed = other.op == "call_method" and other.target == "t"
                param = other.args[0].target if transposed else other.target
                self.layers.append({"name": param.rsplit(".", 1)[0] if "." in param else param, "weight": param, "bias": None,
                                    "layer": (param, not transposed), "bn": None, "conv": None,
                                    "in": node.args[0].meta["tensor_meta"].shape, "out": node.meta["tensor_meta"].shape})
                steps.append(("layer", len(self.layers) - 1, node.args[0], node))
            else:
                raise Unsupported(f"{node.op} {node.target}")
        output = next(n for n in self.gm.graph.nodes if n.op == "output").args[0]
        self.mark_heads(steps, output)
        return steps, output

    def mark_heads(self, steps, output):
        tail = {output}
        for step in reversed(steps):
            if step[-1] not in tail:
                continue
            if step[0] == "layer":
                self.layers[step[1]]["head"] = True
            else:
                tail.update(step[1] if step[0] in ("sum", "concat") else [step[2]])

    def measure(self, spec):
        mod = lambda net, name: net.get_submodule(name) if name else None  # noqa: E731
        layer = spec["layer"] if isinstance(spec["layer"], tuple) else mod(self.model, spec["layer"])
        layer0 = spec["layer"] if isinstance(spec["layer"], tuple) else mod(self.init, spec["layer"])
        bn, bn0 = mod(self.model, spec["bn"]), mod(self.init, spec["bn"])
        W, b, _ = affine(self.model, layer, bn)
        W0, b0, s0 = affine(self.init, layer0, bn0)
        if layer is None:  # a lone BatchNorm: its unfolded weight is the identity
            (U, c), (U0, c0) = (np.ones_like(W), np.zeros_like(b)), (np.ones_like(W), np.zeros_like(b))
        else:
            U, c, _ = affine(self.model, layer, None)
            U0, c0, _ = affine(self.init, layer0, None)
        if bn is not None and bn.weight is None:
            raise Unsupported("BatchNorm without affine parameters")
        conv = mod(self.model, spec["conv"])
        positions = int(np.prod(spec["out"][2:])) if len(spec["out"]) > 2 else 1
        if spec["layer"] is None:
            sigma = float(np.abs(W).max())
        else:
            sigma = float(np.linalg.norm(operator_matrix(W, conv, spec["in"]), 2))
        vec = lambda t: t.detach().double().numpy()  # noqa: E731
        return {
            **spec, "head": spec.get("head", False), "lone": spec["layer"] is None,
            "w": np.abs(W).sum(1), "w0": np.abs(W0).sum(1), "D": np.abs(W - W0).sum(1),
            "b": np.abs(b), "b0": np.abs(b0), "Db": np.abs(b - b0),
            "unfolded0": np.abs(U0).sum(1), "unfoldedD": np.abs(U - U0).sum(1), "unfoldedDb": np.abs(c - c0),
            "bn_state": None if bn is None else {
                "gamma": vec(bn.weight), "gamma0": vec(bn0.weight), "var": vec(bn.running_var),
                "var0": vec(bn0.running_var), "eps": bn.eps, "weight": spec["bn"] + ".weight"},
            "s0": None if s0 is None else np.abs(s0),
            "frobenius": float(np.sqrt(((W - W0) ** 2).sum() + ((b - b0) ** 2).sum())),
            "sigma": sigma, "l21op": positions * float(np.linalg.norm(W - W0, axis=1).sum()),
        }


def bn_scale_radius(st, clip):
    """|s - s0| for the module's s = gamma / sqrt(var + eps), given |t| <= clip for MARS-SP's
    t = gamma / sqrt(var + 1e-6) - gamma0 / sqrt(var0 + 1e-6): s = c (s0' + t) with c = sqrt((var + 1e-6) / (var + eps))."""
    c = np.sqrt((st["var"] + 1e-6) / (st["var"] + st["eps"]))
    c0 = np.sqrt((st["var0"] + 1e-6) / (st["var0"] + st["eps"]))
    return c * clip + np.abs(c - c0) * np.abs(st["gamma0"] / np.sqrt(st["var0"] + 1e-6))


def class_radii(m, mode, radii):
    """(D_r, Db_r) of a layer's rows."""
    if mode == "posthoc":
        return m["D"], m["Db"]
    layers = radii.get("layers", {})
    base = radii["head"] if m["head"] else radii["backbone"]
    Db = m["Db"]
    if m["bias"] and radii.get("includeBias") and not m["bn"]:
        Db = np.full_like(m["Db"], layers.get(m["bias"], base))
    g = 0.0 if m["lone"] else layers.get(m["weight"], base)
    if m["bn"] is None:
        return np.full_like(m["D"], g), Db
    rho = bn_scale_radius(m["bn_state"], layers.get(m["bn_state"]["weight"], radii.get("batchnorm", radii["backbone"])))
    w0 = np.ones_like(m["D"]) if m["lone"] else m["unfolded0"]
    return (m["s0"] + rho) * g + rho * w0, Db


def run(fixtures, request):
    model, init = load_networks(fixtures, request)
    x, y = load_data(fixtures, request["case"], request.get("idx"), request.get("folder"))
    m, d = x.shape[0], int(np.prod(x.shape[1:]))
    X = float(np.abs(x.astype(np.float64)).max())
    walker = Walker(model, init, x)
    steps, output = walker.plan()
    measures = [walker.measure(spec) for spec in walker.layers]
    radii = [class_radii(me, request["mode"], request.get("radii", {})) for me in measures]
    root = math.sqrt(m)
    bounds = {next(n for n in walker.gm.graph.nodes if n.op == "placeholder"): (X * math.sqrt(2 * m * math.log(2 * d)), 0.0)}
    for step in steps:
        if step[0] == "layer":
            me, (D, Db) = measures[step[1]], radii[step[1]]
            A, Q = bounds[step[2]]
            bounds[step[3]] = (float(np.max(me["w0"] + D)) * A + float(np.max(me["b0"] + Db)) * root,
                               float(np.max(D * A + Db * root + me["w0"] * Q)))
        elif step[0] == "scale":
            A, Q = bounds[step[2]]
            bounds[step[3]] = (step[1] * A, Q)
        elif step[0] == "sum":
            bounds[step[2]] = tuple(map(sum, zip(*(bounds[a] for a in step[1]))))
        else:
            parts = [bounds[a] for a in step[1]]
            bounds[step[2]] = (sum(p[0] for p in parts), max(p[1] for p in parts))
    A, Q = bounds[output]
    with torch.no_grad():
        f = model(torch.from_numpy(x)).double().numpy()
        f0 = init(torch.from_numpy(x)).double().numpy()
    K = f.shape[1]
    rival = np.where(np.eye(K, dtype=bool)[y], -np.inf, f).max(1)
    margin, delta = request.get("margin", 1.0), request.get("delta", 0.05)
    margin_loss = float(np.mean(f[np.arange(m), y] - rival < margin))
    pi1 = (K * Q + float(np.sqrt((f0 ** 2).sum(0)).max()) * math.sqrt(2 * math.log(K))) / m
    complexity = 4 * K / margin * pi1
    confidence = 3 * math.sqrt(math.log(2 / delta) / (2 * m))
    sig = np.array([me["sigma"] for me in measures])
    l21 = np.array([me["l21op"] for me in measures])
    RA = float(np.prod(sig) * ((l21 / sig) ** (2 / 3)).sum() ** 1.5)
    B = np.array([me["w"].max() for me in measures])
    Dj = np.array([r[0].max() for r in radii])
    graf = 2 ** (len(measures) + 1) * K * float(np.prod(B)) * float((Dj / B).sum()) * X * math.log(d) / math.sqrt(m)
    return {
        "case": request["case"], "mode": request["mode"], "m": m, "d": d, "X": X, "K": K, "A": A, "Q": Q,
        "rademacher": Q / m,
        "layers": [{"name": me["name"], "head": me["head"], "initNorm": float((me["w0"] + me["b0"]).max()),
                    "norm": float((me["w"] + me["b"]).max()), "distance": float((me["D"] + me["Db"]).max()),
                    "frobeniusDistance": me["frobenius"], "spectralNorm": me["sigma"], "operatorL21Distance": me["l21op"],
                    "radius": float(r[0].max()), "biasRadius": float(r[1].max())} for me, r in zip(measures, radii)],
        "generalisation": {"marginLoss": margin_loss, "rademacherPi1": pi1, "complexity": complexity,
                           "confidence": confidence, "total": margin_loss + complexity + confidence},
        "spectral": {"spectralComplexity": RA, "complexity": float(np.sqrt((x.astype(np.float64) ** 2).sum())) * RA / (margin * m)},
        "graf": graf,
    }


def main(fixtures, requests_file):
    torch.set_num_threads(1)
    results = []
    for request in json.load(open(requests_file)):
        try:
            results.append(run(fixtures, request))
        except Unsupported as e:
            results.append({"case": request["case"], "unsupported": str(e)})
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
