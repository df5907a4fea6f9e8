"""The PyTorch-from-Python contender of bench/projection/run.mjs: the MARS map
written as torch ops, timed exactly like the native methods (same data, same
seed, same restore + cache flush before each sweep, same thread count).

    /usr/bin/python3 bench/projection/torch_bench.py --model resnet50 --threads 2 --reps 7
Prints one JSON object.
"""
import argparse
import json
import math
import os
import time

import torch


def mars_op_chain(w, w0, r):
    d = w - w0
    norms = d.abs().reshape(w.shape[0], -1).sum(1)
    factor = (norms / r).clamp_min(1.0).view([-1] + [1] * (w.dim() - 1))
    w.copy_(w0 + d / factor)


def frobenius_op_chain(w, w0, r):
    d = w - w0
    factor = (d.norm() / r).clamp_min(1.0)
    w.copy_(w0 + d / factor)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', default='resnet50')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--reps', type=int, default=7)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--rel-radius', type=float, default=0.5)
    p.add_argument('--flush-bytes', type=int, default=64 << 20)
    p.add_argument('--method', default='mars', choices=['mars', 'frobenius'])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'shapes.json')) as f:
        shapes = [s['shape'] for s in json.load(f)[a.model]]
    gen = torch.Generator().manual_seed(a.seed)
    ws, w0s, pristine, radii = [], [], [], []
    for shape in shapes:
        w0 = torch.randn(shape, generator=gen).mul_(0.05)
        w = w0 + torch.randn(shape, generator=gen).mul_(0.01)
        row_len = w.numel() // w.shape[0]
        expected = math.sqrt(w.numel()) * 0.01 if a.method == 'frobenius' else row_len * 0.01 * math.sqrt(2 / math.pi)
        radii.append(a.rel_radius * expected)
        pristine.append(w.clone())
        ws.append(w)
        w0s.append(w0)
    flush = torch.ones(max(1, a.flush_bytes // 4))
    fn = mars_op_chain if a.method == 'mars' else frobenius_op_chain
    per_tensor = [[] for _ in shapes]
    totals = []
    sink = 0.0
    for _ in range(a.reps):
        for w, p0 in zip(ws, pristine):
            w.copy_(p0)
        sink += float(flush.sum())
        total = 0.0
        for i in range(len(ws)):
            t0 = time.perf_counter()
            fn(ws[i], w0s[i], radii[i])
            dt = time.perf_counter() - t0
            per_tensor[i].append(dt)
            total += dt
        totals.append(total)
    checksum = sum(float(w.sum(dtype=torch.float64)) for w in ws)
    med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else 0.5 * (sorted(v)[len(v) // 2 - 1] + sorted(v)[len(v) // 2])
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'totalSeconds': totals,
        'perTensorSeconds': [med(v) for v in per_tensor],
        'checksum': checksum,
        'flushSink': sink,
    }))


if __name__ == '__main__':
    main()
