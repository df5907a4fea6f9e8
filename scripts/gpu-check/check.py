#!/usr/bin/env python3
"""GPU check of the fused projection kernels (native/kernels/projection_*.{cc,cu}).

Builds projection_cuda.cu + projection_cpu.cc as a PyTorch C++/CUDA extension
(with the tiny pybind wrapper bindings.cpp beside this file; no Node needed),
then on ResNet-18/50 conv/linear weight shapes (bench/projection/shapes.json):

  1. correctness: the GPU kernels against the formula of method.md in float64
     on the GPU, against the CPU kernel, and the invariants (rows end inside
     the ball, rows inside untouched, statistics right); the head variant,
     float64, exact-l1 (vs a bisection), Frobenius, BatchNorm clip, layouts
     (channels-last, transposed, misaligned, odd row lengths), no-stats mode,
     a side stream, device-mismatch errors, and the batched entry point
     (ProjectMarsRowsMany) against single calls;
  2. timing with CUDA events: one sweep over all weights, fused kernel (one
     call per tensor, and batched: one launch for all) vs the
     same formula as ATen ops from C++ and from Python, and vs copy_/add_ of
     the same tensors (bandwidth reference).

    python3 scripts/gpu-check/check.py            # on the GPU machine, < 3 minutes
    python3 scripts/gpu-check/check.py --cpu-only # build/logic check without CUDA

Prints a compact summary; writes gpu-check.json to $OUT (or /tmp). Exit code 1
when a correctness check fails.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
KERNELS = os.path.join(ROOT, 'native', 'kernels')

failures = []
summary = {'checks': {}, 'timing': {}}


def timed(fn, cuda):
    """Seconds `fn` takes: CUDA events on the GPU, the wall clock on the CPU."""
    if cuda:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b) / 1e3
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def check(name, ok, detail=''):
    summary['checks'][name] = {'ok': bool(ok), 'detail': detail}
    if not ok:
        failures.append(name)
    print(f"  [{'ok' if ok else 'FAIL'}] {name}{(': ' + detail) if detail else ''}", flush=True)


def section(title, fn):
    print(f"== {title}", flush=True)
    try:
        fn()
    except Exception as e:  # keep going: one broken section must not hide the others
        failures.append(title)
        summary['checks'][title] = {'ok': False, 'detail': repr(e)}
        traceback.print_exc()


def build(cuda):
    from torch.utils.cpp_extension import load
    sources = [os.path.join(HERE, 'bindings.cpp'), os.path.join(KERNELS, 'projection_cpu.cc')]
    defines = []
    if cuda:
        sources.append(os.path.join(KERNELS, 'projection_cuda.cu'))
        defines.append('-DMARS_WITH_CUDA')
        major, minor = torch.cuda.get_device_capability()
        os.environ.setdefault('TORCH_CUDA_ARCH_LIST', f'{major}.{minor}')
    if int(torch.__version__.split('.')[0]) < 2:
        defines.append('-std=c++17')  # PyTorch 1.x extensions default to C++14; the kernels need 17
    build_dir = os.path.join(tempfile.gettempdir(), 'mars-gpu-check-build' + ('' if cuda else '-cpu'))
    os.makedirs(build_dir, exist_ok=True)
    os.environ.setdefault('MAX_JOBS', str(os.cpu_count() or 4))
    t0 = time.time()
    ext = load(
        name='mars_projection_check' + ('' if cuda else '_cpu'),
        sources=sources,
        extra_include_paths=[KERNELS, os.path.join(HERE, 'shim')],
        extra_cflags=['-O3', '-fopenmp'] + defines,
        extra_cuda_cflags=['-O3', '-lineinfo'] + [d for d in defines if not d.startswith('-std')],
        extra_ldflags=['-fopenmp'],
        build_directory=build_dir,
        verbose=False,
    )
    summary['build_seconds'] = round(time.time() - t0, 1)
    print(f"built in {summary['build_seconds']} s", flush=True)
    return ext


def shapes(model):
    with open(os.path.join(ROOT, 'bench', 'projection', 'shapes.json')) as f:
        return [s['shape'] for s in json.load(f)[model]]


def make(shape, dev, dtype=torch.float32, seed=0, spread=True):
    """W0 ~ 0.05 N, W = W0 + sigma_r N with sigma_r varying over rows; radius = a
    value between two row distances near the median (half the rows clip)."""
    g = torch.Generator(device='cpu').manual_seed(seed)
    w0 = (torch.randn(shape, generator=g, dtype=torch.float64) * 0.05)
    sig = torch.linspace(0.005, 0.03, shape[0], dtype=torch.float64)[torch.randperm(shape[0], generator=g)]
    w = w0 + torch.randn(shape, generator=g, dtype=torch.float64) * sig.view([-1] + [1] * (len(shape) - 1))
    w, w0 = w.to(dtype), w0.to(dtype)
    s = (w.double() - w0.double()).reshape(shape[0], -1).abs().sum(1).sort().values
    n = s.numel()
    radius = float(0.5 * (s[max(0, n // 2 - 1)] + s[min(n - 1, n // 2)])) if n > 1 else float(s[0]) * 0.5
    return w.to(dev), w0.to(dev), radius


def mars_reference(w, w0, r):
    """method.md in float64: where s_r > r, W0 + (W - W0) r / s_r."""
    wd, w0d = w.double(), (w0.double() if w0 is not None else torch.zeros_like(w, dtype=torch.float64))
    t = wd - w0d
    s = t.reshape(t.shape[0], -1).abs().sum(1)
    f = (r / s).clamp(max=1.0).view([-1] + [1] * (w.dim() - 1))
    return torch.where((s > r).view(f.shape), w0d + t * f, wd), s


def rel_err(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp(min=1e-30))


def correctness(ext, dev):
    tol32, tol64 = 2e-6, 1e-12
    worst = 0.0
    worst_cpu = 0.0
    all_ok = True
    for model in ('resnet18', 'resnet50'):
        for i, shape in enumerate(shapes(model)):
            w, w0, r = make(shape, dev, seed=i)
            expect, s = mars_reference(w, w0, r)
            before = w.clone()
            st = ext.project_mars(w, w0, r)
            err = rel_err(w, expect)
            worst = max(worst, err)
            inside = (s <= r).to(w.device)
            after = (w.double() - w0.double()).reshape(shape[0], -1).abs().sum(1)
            ok = (err <= tol32 and torch.equal(w[inside], before[inside]) and bool((after <= r * (1 + 1e-5)).all())
                  and st['clipped'] == int((s > r).sum()) and abs(st['max_before'] - float(s.max())) <= 1e-5 * float(s.max()))
            if dev != 'cpu':
                wc = before.cpu()
                ext.project_mars(wc, w0.cpu(), r)
                worst_cpu = max(worst_cpu, rel_err(w.cpu(), wc))
            if not ok:
                all_ok = False
                print(f"    mismatch {model} {shape}: err {err:.2e}, stats {st}, expected clipped {int((s > r).sum())}")
    check('MARS rescale, every ResNet-18/50 conv/linear shape, float32 (vs float64 formula, invariants, stats)', all_ok,
          f'max rel err {worst:.2e}' + (f'; GPU vs CPU kernel max rel diff {worst_cpu:.2e}' if dev != 'cpu' else ''))
    if dev != 'cpu':
        check('GPU kernel agrees with the CPU kernel', worst_cpu <= tol32, f'{worst_cpu:.2e}')

    # Batched: one call (one launch per 48 tensors) over all ResNet-50 weights, a
    # head, float32: against the float64 formula and the invariants like single
    # calls; against single calls bit for bit on the CPU, within rounding on the
    # GPU (a row may be summed in another order there).
    shp = shapes('resnet50') + [[10, 2048], [37, 5, 3, 3]]
    data = [make(s, dev, seed=800 + i) for i, s in enumerate(shp)]
    ws = [d[0].clone() for d in data]
    w0s = [d[1] if i != len(shp) - 2 else None for i, d in enumerate(data)]
    radii = [d[2] for d in data]
    st = ext.project_mars_batch(ws, w0s, radii, True)
    ok_b = True
    worst_ref = worst_single = 0.0
    for i, d in enumerate(data):
        expect, s_ref = mars_reference(d[0], w0s[i], radii[i])
        worst_ref = max(worst_ref, rel_err(ws[i], expect))
        after = (ws[i].double() - (w0s[i].double() if w0s[i] is not None else 0)).reshape(shp[i][0], -1).abs().sum(1)
        ok_b &= bool((after <= radii[i] * (1 + 1e-5)).all()) and st[i]['clipped'] == int((s_ref > radii[i]).sum())
        single = d[0].clone()
        s1 = ext.project_mars(single, w0s[i], radii[i])
        worst_single = max(worst_single, rel_err(ws[i], single))
        ok_b &= torch.equal(ws[i], single) if dev == 'cpu' else rel_err(ws[i], single) <= tol32
        ok_b &= st[i]['rows'] == s1['rows']
    ok_b &= worst_ref <= tol32
    ws2 = [d[0].clone() for d in data]
    st2 = ext.project_mars_batch(ws2, w0s, radii, False)
    ok_b &= all(torch.equal(a, b) for a, b in zip(ws, ws2)) and (dev == 'cpu' or not st2[0]['valid'])
    detail = f'max rel err vs float64 formula {worst_ref:.2e}, vs single calls {worst_single:.2e}'
    check(f'batched ProjectMarsRowsMany ({len(shp)} tensors, {math.ceil(len(shp) / 48)} launches) matches the formula and single calls', ok_b, detail)

    subset = [[64, 3, 7, 7], [64, 64, 1, 1], [256, 64, 1, 1], [512, 512, 3, 3], [2048, 512, 1, 1], [1000, 2048], [10, 3],
              [37, 5, 3, 3], [3, 5000], [5, 1025], [130, 4097]]
    # Head (centred at zero), float64, no stats, exact-l1.
    ok_head = ok64 = ok_nostats = ok_exact = True
    worst_exact = 0.0
    for i, shape in enumerate(subset):
        w, _, r = make(shape, dev, seed=100 + i)
        expect, _ = mars_reference(w, None, r)
        ext.project_mars(w, None, r)
        ok_head &= rel_err(w, expect) <= tol32
        w, w0, r = make(shape, dev, dtype=torch.float64, seed=200 + i)
        expect, _ = mars_reference(w, w0, r)
        ext.project_mars(w, w0, r)
        ok64 &= rel_err(w, expect) <= tol64
        w, w0, r = make(shape, dev, seed=300 + i)
        w2 = w.clone()
        st = ext.project_mars(w, w0, r, stats=False)
        ext.project_mars(w2, w0, r)
        ok_nostats &= torch.equal(w, w2) and (st['valid'] is (dev == 'cpu'))
        # Exact l1: bisection on theta in float64.
        w, w0, r = make(shape, dev, dtype=torch.float64, seed=400 + i)
        v = (w - w0).reshape(shape[0], -1)
        a = v.abs()
        lo, hi = torch.zeros(shape[0], dtype=torch.float64, device=w.device), a.max(1).values
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            g = (a - mid[:, None]).clamp(min=0).sum(1) - r
            lo, hi = torch.where(g > 0, mid, lo), torch.where(g > 0, hi, mid)
        theta = 0.5 * (lo + hi)
        proj = torch.sign(v) * (a - theta[:, None]).clamp(min=0)
        expect = torch.where((a.sum(1) > r)[:, None], w0.reshape(shape[0], -1) + proj, w.reshape(shape[0], -1)).reshape(shape)
        ext.project_mars(w, w0, r, mode='exact-l1')
        e = rel_err(w, expect)
        worst_exact = max(worst_exact, e)
        l1 = (w - w0).reshape(shape[0], -1).abs().sum(1)
        ok_exact &= e <= 1e-10 and bool((l1 <= r * (1 + 1e-10)).all())
    check('head variant (W0 = 0)', ok_head)
    check('float64', ok64)
    check('stats=False gives the same result' + (' and statsValid false' if dev != 'cpu' else ''), ok_nostats)
    check('exact-l1 vs bisection, in the ball', ok_exact, f'max rel err {worst_exact:.2e}')

    # Frobenius.
    ok_f = True
    for i, shape in enumerate(subset):
        for factor in (0.5, 2.0):
            w, w0, _ = make(shape, dev, seed=500 + i)
            t = w.double() - w0.double()
            r = factor * float(t.norm())
            expect = w0.double() + t / max(1.0, float(t.norm()) / r)
            before = w.clone()
            st = ext.project_frobenius(w, w0, r)
            ok_f &= rel_err(w, expect) <= tol32 and (factor < 1 or torch.equal(w, before)) and st['clipped'] == int(factor < 1)
    check('Frobenius (clipped and untouched)', ok_f)

    # BatchNorm.
    ok_bn = True
    for i, c in enumerate([64, 256, 1000, 2048, 3]):
        g = torch.Generator().manual_seed(600 + i)
        w0 = (1 + 0.2 * torch.randn(c, generator=g)).to(dev)
        rv0 = (0.5 + torch.rand(c, generator=g)).to(dev)
        rv = rv0 * (1 + 0.3 * torch.rand(c, generator=g).to(dev))
        w = w0 + torch.randn(c, generator=g).to(dev) * 0.3
        r = 0.2
        sd = torch.sqrt(rv.double() + 1e-6)
        s0 = w0.double() / torch.sqrt(rv0.double() + 1e-6)
        t = w.double() / sd - s0
        expect = torch.where(t.abs() > r, (s0 + t.clamp(-r, r)) * sd, w.double())
        st = ext.clip_batchnorm(w, rv, w0, rv0, r)
        ok_bn &= rel_err(w, expect) <= tol32 and st['clipped'] == int((t.abs() > r).sum())
    check('BatchNorm scale clip', ok_bn)

    # Layouts: channels-last (fused path), transposed (working copy), misaligned, side stream.
    ok_l = True
    w, w0, r = make([256, 64, 3, 3], dev, seed=700)
    expect, _ = mars_reference(w, w0, r)
    wl, w0l = w.contiguous(memory_format=torch.channels_last), w0.contiguous(memory_format=torch.channels_last)
    ext.project_mars(wl, w0l, r)
    ok_l &= rel_err(wl, expect) <= tol32
    wl = w.contiguous(memory_format=torch.channels_last)
    ext.project_mars(wl, w0, r)  # W0 of another layout
    ok_l &= rel_err(wl, expect) <= tol32
    wt, w0t, r2 = make([300, 200], dev, seed=701)
    wt, w0t = wt.t().contiguous().t(), w0t.t().contiguous().t()  # same values, column-major
    expect2, _ = mars_reference(wt, w0t, r2)
    ext.project_mars(wt, w0t, r2)
    ok_l &= rel_err(wt, expect2) <= tol32 and not wt.is_contiguous()
    big = torch.empty(1 + 512 * 576, device=dev)
    wm = big[1:].view(512, 64, 3, 3)  # 4-byte offset: not 16-byte aligned, scalar path
    w, w0, r = make([512, 64, 3, 3], dev, seed=702)
    wm.copy_(w)
    expect, _ = mars_reference(w, w0, r)
    ext.project_mars(wm, w0, r)
    ok_l &= rel_err(wm, expect) <= tol32
    if dev != 'cpu':
        w, w0, r = make([1024, 256, 3, 3], dev, seed=703)
        expect, _ = mars_reference(w, w0, r)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            ext.project_mars(w, w0, r, stats=False)
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        ok_l &= rel_err(w, expect) <= tol32
    check('layouts: channels-last, mixed strides, column-major, misaligned' + (', side stream' if dev != 'cpu' else ''), ok_l)

    # Errors.
    if dev != 'cpu':
        try:
            ext.project_mars(torch.zeros(4, 4, device=dev), torch.zeros(4, 4), 1.0)
            check('device mismatch raises', False)
        except RuntimeError as e:
            check('device mismatch raises', 'same device' in str(e), str(e)[:80])
    try:
        ext.project_mars(torch.zeros(4, 4, device=dev), None, -1.0)
        check('negative radius raises', False)
    except RuntimeError as e:
        check('negative radius raises', 'radius' in str(e), str(e)[:80])


def timing(ext, dev, reps):
    cuda = dev != 'cpu'

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for model in ('resnet18', 'resnet50'):
        shp = shapes(model)
        g = torch.Generator(device='cpu').manual_seed(0)
        w0s = [(torch.randn(s, generator=g) * 0.05).to(dev) for s in shp]
        ws = [w0 + (torch.randn(s, generator=g) * 0.01).to(dev) for s, w0 in zip(shp, w0s)]
        pristine = [w.clone() for w in ws]
        radii = [0.5 * (w.numel() // w.shape[0]) * 0.01 * math.sqrt(2 / math.pi) for w in ws]  # every row clipped
        n = sum(w.numel() for w in ws)
        bytes3 = 3 * 4 * n

        def py_chain():
            for w, w0, r in zip(ws, w0s, radii):
                d = w - w0
                f = (d.abs().reshape(w.shape[0], -1).sum(1) / r).clamp_min(1.0).view([-1] + [1] * (w.dim() - 1))
                w.copy_(w0 + d / f)

        contenders = {
            'fused': lambda: ext.project_mars_many(ws, w0s, radii, False),
            'fused+stats': lambda: ext.project_mars_many(ws, w0s, radii, True),
            'fused_batch': lambda: ext.project_mars_batch(ws, w0s, radii, False),
            'opchain_cpp': lambda: ext.mars_op_chain_many(ws, w0s, radii),
            'opchain_python': py_chain,
            'copy_': lambda: [w.copy_(w0) for w, w0 in zip(ws, w0s)],
            'add_': lambda: [w.add_(w0) for w, w0 in zip(ws, w0s)],
        }
        times = {k: [] for k in contenders}
        for rep in range(reps + 2):
            for name, fn in contenders.items():
                for w, p in zip(ws, pristine):
                    w.copy_(p)
                sync()
                dt = timed(fn, cuda)
                if rep >= 2:  # two warm-up reps
                    times[name].append(dt)
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        res = {k: {'ms': round(v * 1e3, 4), 'GBps_3N': round(bytes3 / v / 1e9, 1)} for k, v in med.items()}
        res['ratio_opchain_cpp_over_fused'] = round(med['opchain_cpp'] / med['fused'], 2)
        res['ratio_opchain_cpp_over_fused_batch'] = round(med['opchain_cpp'] / med['fused_batch'], 2)
        res['fraction_of_copy_bandwidth_batch'] = round((bytes3 / med['fused_batch']) / (2 * 4 * n / med['copy_']), 3)
        res['ratio_opchain_python_over_fused'] = round(med['opchain_python'] / med['fused'], 2)
        res['fraction_of_add_'] = round(med['add_'] / med['fused'], 3)  # add_ moves exactly the same bytes
        res['fraction_of_copy_bandwidth'] = round((bytes3 / med['fused']) / (2 * 4 * n / med['copy_']), 3)
        res['tensors'] = len(ws)
        res['elements'] = n
        summary['timing'][model] = res
        print(f"  {model} ({len(ws)} tensors, {n / 1e6:.1f} M floats): fused {res['fused']['ms']:.3f} ms "
              f"({res['fused']['GBps_3N']} GB/s), +stats {res['fused+stats']['ms']:.3f} ms, "
              f"batched {res['fused_batch']['ms']:.3f} ms ({res['fused_batch']['GBps_3N']} GB/s, "
              f"{res['ratio_opchain_cpp_over_fused_batch']}x op chain, {100 * res['fraction_of_copy_bandwidth_batch']:.0f}% of copy_), "
              f"op chain C++ {res['opchain_cpp']['ms']:.3f} ms ({res['ratio_opchain_cpp_over_fused']}x), "
              f"Python {res['opchain_python']['ms']:.3f} ms ({res['ratio_opchain_python_over_fused']}x), "
              f"copy_ {res['copy_']['ms']:.3f} ms, add_ {res['add_']['ms']:.3f} ms; "
              f"fused reaches {100 * res['fraction_of_copy_bandwidth']:.0f}% of copy_ bandwidth, add_/fused {res['fraction_of_add_']}",
              flush=True)

    # Single big tensors: the kernel alone, launch overhead amortised.
    for shape in ([2048, 512, 1, 1], [512, 4608], [16384, 4096]):
        g = torch.Generator(device='cpu').manual_seed(1)
        w0 = (torch.randn(shape, generator=g) * 0.05).to(dev)
        w = w0 + (torch.randn(shape, generator=g) * 0.01).to(dev)
        p = w.clone()
        r = 0.5 * (w.numel() // w.shape[0]) * 0.01 * math.sqrt(2 / math.pi)
        out = {}
        for name, fn in (('fused', lambda: ext.project_mars(w, w0, r, stats=False)), ('add_', lambda: w.add_(w0))):
            ts = []
            for rep in range(reps + 2):
                w.copy_(p)
                sync()
                dt = timed(fn, cuda)
                if rep >= 2:
                    ts.append(dt)
            out[name] = sorted(ts)[len(ts) // 2]
        key = 'x'.join(map(str, shape))
        summary['timing'][key] = {k: {'us': round(v * 1e6, 2), 'GBps_3N': round(12 * w.numel() / v / 1e9, 1)} for k, v in out.items()}
        print(f"  {key}: fused {out['fused'] * 1e6:.1f} us ({12 * w.numel() / out['fused'] / 1e9:.0f} GB/s), "
              f"add_ {out['add_'] * 1e6:.1f} us ({12 * w.numel() / out['add_'] / 1e9:.0f} GB/s)", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--cpu-only', action='store_true', help='build without CUDA and check the CPU path')
    p.add_argument('--reps', type=int, default=15)
    a = p.parse_args()
    t_start = time.time()
    cuda = not a.cpu_only
    if cuda and not torch.cuda.is_available():
        print('no CUDA device; use --cpu-only')
        return 2
    dev = 'cuda' if cuda else 'cpu'
    summary['torch'] = torch.__version__
    summary['cuda'] = torch.version.cuda
    summary['device'] = torch.cuda.get_device_name() if cuda else 'cpu'
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, device {summary['device']}", flush=True)
    ext = None
    try:
        ext = build(cuda)
    except Exception:
        traceback.print_exc()
        print('BUILD FAILED')
        failures.append('build')
    if ext is not None:
        section('correctness', lambda: correctness(ext, dev))
        section('timing (CUDA events)' if cuda else 'timing (CPU, wall clock)', lambda: timing(ext, dev, a.reps if cuda else 3))
    summary['seconds'] = round(time.time() - t_start, 1)
    summary['failures'] = failures
    out_dir = os.environ.get('OUT') or tempfile.gettempdir()
    with open(os.path.join(out_dir, 'gpu-check.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f"== {'ALL OK' if not failures else 'FAILED: ' + ', '.join(failures)} in {summary['seconds']} s "
          f"(summary in {os.path.join(out_dir, 'gpu-check.json')})")
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
