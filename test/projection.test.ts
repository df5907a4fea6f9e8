// The fused projection kernels against an independent oracle: the same maps
// written with plain PyTorch ops in Python (Debian's torch), on the same
// seeded random tensors, exchanged through raw files in a temporary folder.
// The exact l1 projection is checked against a bisection in Python (another
// algorithm than the kernel's sort) and against its optimality conditions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clipBatchNormScale,
  load,
  projectFrobenius,
  projectMars,
  projectMarsMany,
  runtimeInfo,
  setNumThreads,
  tensor,
  type ProjectionStats,
  type Tensor,
} from '../lib/index.js';
import { native } from '../lib/native/loader.js';
import { PYTHON } from './helpers/paths.js';

type Dt = 'float32' | 'float64';
type Op = 'mars' | 'exact' | 'frobenius' | 'bn';

const dir = mkdtempSync(join(tmpdir(), 'mars-projection-'));

// ---------------------------------------------------------------------------
// Seeded data
// ---------------------------------------------------------------------------

/** mulberry32 uniform in (0, 1) and Box-Muller normals. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The elements of a float tensor. */
const floats = (t: Tensor): Float32Array | Float64Array => t.data() as Float32Array | Float64Array;

function typed(dtype: Dt, n: number): Float32Array | Float64Array {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  op: Op;
  dtype: Dt;
  shape: number[];
  radius: number;
  hasW0: boolean;
  /** Inputs by name (w, w0; BatchNorm: w, rv, w0, rv0), already rounded to dtype. */
  inputs: Record<string, Float32Array | Float64Array>;
}

/** l1 distance of each row (float64). */
function rowDistances(w: ArrayLike<number>, w0: ArrayLike<number> | null, rows: number): number[] {
  const len = w.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = r * len; c < (r + 1) * len; c++) s += Math.abs((w[c] as number) - (w0 ? (w0[c] as number) : 0));
    out.push(s);
  }
  return out;
}

/** A radius halfway between two neighbouring row distances around the given quantile, so no row sits on the sphere. */
function radiusBetween(distances: number[], quantile: number): number {
  const sorted = [...distances].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 2, Math.max(0, Math.floor(quantile * sorted.length) - 1));
  return 0.5 * ((sorted[i] as number) + (sorted[i + 1] as number));
}

/**
 * W0 ~ 0.05 N(0,1); W = W0 + sigma_r N(0,1) with sigma_r alternating between
 * small and large rows, so that some rows are inside and some outside.
 */
function rowCase(name: string, op: Op, dtype: Dt, shape: number[], seed: number, hasW0: boolean, quantile = 0.5): Case {
  const rnd = normals(seed);
  const n = numel(shape);
  const rows = shape[0] as number;
  const len = n / rows;
  const w0 = typed(dtype, n);
  const w = typed(dtype, n);
  for (let i = 0; i < n; i++) {
    const base = hasW0 ? 0.05 * rnd() : 0;
    const sigma = Math.floor(i / len) % 3 === 0 ? 0.004 : 0.02 * (1 + (Math.floor(i / len) % 5) / 5);
    w0[i] = base;
    w[i] = base + sigma * rnd();
  }
  const radius = radiusBetween(rowDistances(w, hasW0 ? w0 : null, rows), quantile);
  return { name, op, dtype, shape, radius, hasW0, inputs: hasW0 ? { w, w0 } : { w } };
}

function frobeniusCase(name: string, dtype: Dt, shape: number[], seed: number, radiusFactor: number, hasW0 = true): Case {
  const rnd = normals(seed);
  const n = numel(shape);
  const w0 = typed(dtype, n);
  const w = typed(dtype, n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    w0[i] = hasW0 ? 0.05 * rnd() : 0;
    w[i] = (w0[i] as number) + 0.01 * rnd();
    sq += ((w[i] as number) - (w0[i] as number)) ** 2;
  }
  return { name, op: 'frobenius', dtype, shape, radius: radiusFactor * Math.sqrt(sq), hasW0, inputs: hasW0 ? { w, w0 } : { w } };
}

function batchNormCase(name: string, dtype: Dt, channels: number, seed: number, radius: number): Case {
  const rnd = normals(seed);
  const w = typed(dtype, channels);
  const rv = typed(dtype, channels);
  const w0 = typed(dtype, channels);
  const rv0 = typed(dtype, channels);
  for (let c = 0; c < channels; c++) {
    w0[c] = 1 + 0.2 * rnd();
    rv0[c] = 0.5 + Math.abs(rnd());
    rv[c] = (rv0[c] as number) * (1 + 0.3 * rnd() ** 2);
    w[c] = (w0[c] as number) + (c % 2 === 0 ? 0.02 : 0.8) * rnd();
  }
  return { name, op: 'bn', dtype, shape: [channels], radius, hasW0: true, inputs: { w, rv, w0, rv0 } };
}

const CASES: Case[] = [
  rowCase('linear_f32', 'mars', 'float32', [64, 200], 1, true),
  rowCase('conv_f32', 'mars', 'float32', [32, 16, 3, 3], 2, true),
  rowCase('conv_f64', 'mars', 'float64', [24, 8, 3, 3], 3, true),
  rowCase('conv1x1_f32_mostly_outside', 'mars', 'float32', [48, 33, 1, 1], 4, true, 0.1),
  rowCase('head_f32', 'mars', 'float32', [10, 64], 5, false),
  rowCase('head_f64', 'mars', 'float64', [7, 300], 6, false),
  rowCase('bias_1d_f32', 'mars', 'float32', [50], 7, true),
  rowCase('exact_f64', 'exact', 'float64', [40, 30], 8, true),
  rowCase('exact_conv_f32', 'exact', 'float32', [16, 4, 3, 3], 9, true),
  rowCase('exact_head_f64', 'exact', 'float64', [12, 50], 10, false),
  frobeniusCase('frob_conv_f32', 'float32', [32, 16, 3, 3], 11, 0.6),
  frobeniusCase('frob_f64', 'float64', [20, 30], 12, 0.3),
  frobeniusCase('frob_head_f32', 'float32', [10, 40], 13, 0.5, false),
  frobeniusCase('frob_inside_f32', 'float32', [16, 16], 14, 1.5),
  batchNormCase('bn_f32', 'float32', 64, 15, 0.3),
  batchNormCase('bn_f64', 'float64', 33, 16, 0.1),
];

// ---------------------------------------------------------------------------
// The oracle: plain PyTorch in Python
// ---------------------------------------------------------------------------

const ORACLE = String.raw`
import json, sys, numpy as np, torch
d = sys.argv[1]
cases = json.load(open(d + '/cases.json'))
torch.set_default_dtype(torch.float64)

def read(c, key, shape):
    dt = np.float32 if c['dtype'] == 'float32' else np.float64
    return torch.from_numpy(np.fromfile(f"{d}/{c['name']}.{key}.bin", dtype=dt).copy()).reshape(shape)

def row_view(t):
    return t.reshape(t.shape[0], -1)

stats = {}
for c in cases:
    shape, r = c['shape'], c['radius']
    w = read(c, 'w', shape)
    w0 = read(c, 'w0', shape) if c['hasW0'] else torch.zeros_like(w)
    if c['op'] == 'mars':
        # method.md: s_r = sum_c |W - W0|; if s_r > r: W = W0 + (W - W0) * (r / s_r)
        t = w - w0
        s = row_view(t).abs().sum(1, dtype=torch.float64)
        f = (r / s).to(w.dtype).reshape([-1] + [1] * (w.dim() - 1))
        outside = (s > r).reshape(f.shape)
        out = torch.where(outside, w0 + t * f, w)
        stats[c['name']] = dict(clipped=int((s > r).sum()), maxBefore=float(s.max()), sumBefore=float(s.sum()))
    elif c['op'] == 'exact':
        # Euclidean projection of each row of W - W0 onto the l1 ball, by bisection on theta.
        v = row_view(w - w0).double()
        a = v.abs()
        s = a.sum(1)
        lo = torch.zeros_like(s)
        hi = a.max(1).values
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            g = (a - mid[:, None]).clamp(min=0).sum(1) - r
            lo = torch.where(g > 0, mid, lo)
            hi = torch.where(g > 0, hi, mid)
        theta = 0.5 * (lo + hi)
        x = torch.sign(v) * (a - theta[:, None]).clamp(min=0)
        proj = (row_view(w0).double() + x).to(w.dtype)
        out = torch.where((s > r)[:, None], proj, row_view(w)).reshape(shape)
        stats[c['name']] = dict(clipped=int((s > r).sum()), maxBefore=float(s.max()), sumBefore=float(s.sum()))
    elif c['op'] == 'frobenius':
        # W = W0 + t / max(1, ||t||_F / r)
        t = w - w0
        n = float(t.double().norm())
        out = w0 + t / max(1.0, n / r)
        if n <= r:
            out = w
        stats[c['name']] = dict(clipped=int(n > r), maxBefore=n, sumBefore=n)
    else:
        rv, rv0 = read(c, 'rv', shape), read(c, 'rv0', shape)
        sd = torch.sqrt(rv + 1e-6)
        s = w / sd
        s0 = w0 / torch.sqrt(rv0 + 1e-6)
        t = (s - s0).clamp(-r, r)
        out = (s0 + t) * sd
        diff = (s.double() - s0.double()).abs()
        stats[c['name']] = dict(clipped=int((diff > r).sum()), maxBefore=float(diff.max()), sumBefore=float(diff.sum()))
    out.contiguous().numpy().tofile(f"{d}/{c['name']}.oracle.bin")
print(json.dumps(stats))
`;

interface OracleStats {
  clipped: number;
  maxBefore: number;
  sumBefore: number;
}

function readTyped(file: string, dtype: Dt): Float32Array | Float64Array {
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return dtype === 'float32' ? new Float32Array(buffer) : new Float64Array(buffer);
}

function runOracle(cases: Case[]): Record<string, OracleStats> {
  for (const c of cases) {
    for (const [key, arr] of Object.entries(c.inputs)) writeFileSync(join(dir, `${c.name}.${key}.bin`), arr);
  }
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases.map(({ inputs: _inputs, ...rest }) => rest)));
  const out = execFileSync(PYTHON, ['-c', ORACLE, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as Record<string, OracleStats>;
}

// ---------------------------------------------------------------------------
// Running the kernels
// ---------------------------------------------------------------------------

interface Result {
  c: Case;
  out: Float32Array | Float64Array;
  oracle: Float32Array | Float64Array;
  stats: ProjectionStats;
  oracleStats: OracleStats;
}

async function project(c: Case): Promise<{ out: Float32Array | Float64Array; stats: ProjectionStats }> {
  const t = (key: string) => tensor((c.inputs[key] as Float32Array | Float64Array).slice(), c.shape);
  const w = t('w');
  const w0 = c.hasW0 ? t('w0') : null;
  let stats: ProjectionStats;
  if (c.op === 'mars') stats = await projectMars(w, w0, c.radius);
  else if (c.op === 'exact') stats = await projectMars(w, w0, c.radius, { mode: 'exact-l1' });
  else if (c.op === 'frobenius') stats = await projectFrobenius(w, w0, c.radius);
  else stats = await clipBatchNormScale(w, t('rv'), w0 as Tensor, t('rv0'), c.radius);
  return { out: w.data().slice() as Float32Array | Float64Array, stats };
}

const results = new Map<string, Result>();
let threadsBefore = 1;

beforeAll(async () => {
  threadsBefore = runtimeInfo().threads;
  const oracleStats = runOracle(CASES);
  for (const c of CASES) {
    const { out, stats } = await project(c);
    results.set(c.name, { c, out, stats, oracle: readTyped(join(dir, `${c.name}.oracle.bin`), c.dtype), oracleStats: oracleStats[c.name] as OracleStats });
  }
});

afterAll(() => setNumThreads(threadsBefore));

function get(name: string): Result {
  const r = results.get(name);
  if (!r) throw new Error(`no result for ${name}`);
  return r;
}

/** Largest |a - b| / (atol + rtol |b|). <= 1 means within tolerance. */
function worstError(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
    worst = Math.max(worst, Math.abs(x - y) / (atol + rtol * Math.abs(y)));
  }
  return worst;
}

const tolerance = (dtype: Dt) => (dtype === 'float32' ? { atol: 1e-7, rtol: 2e-6 } : { atol: 1e-15, rtol: 1e-12 });

function rowsOf(c: Case): number {
  return c.op === 'frobenius' ? 1 : (c.shape[0] as number);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('every case equals the PyTorch oracle', () => {
  it.each(CASES.map((c) => [c.name, c.op, c.dtype] as const))('%s (%s, %s)', (name) => {
    const r = get(name);
    const { atol, rtol } = tolerance(r.c.dtype);
    expect(worstError(r.out, r.oracle, atol, rtol)).toBeLessThanOrEqual(1);
    // The case is not trivial: it moved something, and (row cases) left something alone.
    expect(r.stats.clipped).toBeGreaterThan(r.c.name.includes('inside') ? -1 : 0);
  });
});

describe('statistics agree with the oracle', () => {
  it.each(CASES.map((c) => [c.name] as const))('%s', (name) => {
    const { c, stats, oracleStats } = get(name);
    expect(stats.rows).toBe(rowsOf(c));
    expect(stats.clipped).toBe(oracleStats.clipped);
    expect(stats.nonFinite).toBe(0);
    expect(stats.statsValid).toBe(true);
    const rel = c.dtype === 'float32' ? 1e-5 : 1e-10;
    expect(Math.abs(stats.maxDistanceBefore - oracleStats.maxBefore)).toBeLessThanOrEqual(rel * oracleStats.maxBefore);
    expect(Math.abs(stats.meanDistanceBefore * stats.rows - oracleStats.sumBefore)).toBeLessThanOrEqual(rel * oracleStats.sumBefore);
    expect(stats.maxDistanceAfter).toBeLessThanOrEqual(c.radius * (1 + 1e-12));
    if (stats.clipped > 0) expect(stats.maxDistanceAfter).toBe(c.radius);
  });
});

describe('MARS invariants: rows end inside the ball; rows that were inside are bit-identical', () => {
  const rowCases = CASES.filter((c) => c.op === 'mars' || c.op === 'exact');
  it.each(rowCases.map((c) => [c.name] as const))('%s', (name) => {
    const { c, out } = get(name);
    const rows = rowsOf(c);
    const w = c.inputs.w as Float32Array | Float64Array;
    const w0 = c.hasW0 ? (c.inputs.w0 as Float32Array | Float64Array) : null;
    const before = rowDistances(w, w0, rows);
    const after = rowDistances(out, w0, rows);
    const len = w.length / rows;
    let inside = 0;
    let outside = 0;
    for (let r = 0; r < rows; r++) {
      expect(after[r]).toBeLessThanOrEqual(c.radius * (1 + 1e-5));
      const rowOut = Array.from(out.subarray(r * len, (r + 1) * len));
      const rowIn = Array.from(w.subarray(r * len, (r + 1) * len));
      if ((before[r] as number) <= c.radius) {
        inside++;
        expect(rowOut).toEqual(rowIn);
      } else {
        outside++;
        // Brought back onto the sphere, not further in.
        expect(Math.abs((after[r] as number) - c.radius)).toBeLessThanOrEqual(c.radius * (c.dtype === 'float32' ? 1e-5 : 1e-10));
      }
    }
    expect(outside).toBeGreaterThan(0);
    if (!c.name.includes('mostly_outside')) expect(inside).toBeGreaterThan(0);
  });

  it('the rescale keeps each clipped row on the segment from W0 to W (same direction)', () => {
    const { c, out } = get('conv_f64');
    const rows = rowsOf(c);
    const w = c.inputs.w as Float64Array;
    const w0 = c.inputs.w0 as Float64Array;
    const len = w.length / rows;
    const before = rowDistances(w, w0, rows);
    for (let r = 0; r < rows; r++) {
      if ((before[r] as number) <= c.radius) continue;
      const f = c.radius / (before[r] as number);
      for (let i = r * len; i < (r + 1) * len; i++) {
        expect(Math.abs((out[i] as number) - ((w0[i] as number) + ((w[i] as number) - (w0[i] as number)) * f))).toBeLessThan(1e-14);
      }
    }
  });
});

describe('exact l1 projection: optimality', () => {
  const exactCases = CASES.filter((c) => c.op === 'exact');
  it.each(exactCases.map((c) => [c.name] as const))('%s satisfies the KKT conditions and the variational inequality', (name) => {
    const { c, out } = get(name);
    const rows = rowsOf(c);
    const w = c.inputs.w as Float32Array | Float64Array;
    const w0 = c.hasW0 ? (c.inputs.w0 as Float32Array | Float64Array) : null;
    const len = w.length / rows;
    const tol = c.dtype === 'float32' ? 2e-6 : 1e-12;
    const rnd = normals(99);
    const before = rowDistances(w, w0, rows);
    let checked = 0;
    for (let r = 0; r < rows; r++) {
      if ((before[r] as number) <= c.radius) continue;
      checked++;
      const v: number[] = [];
      const x: number[] = [];
      for (let i = r * len; i < (r + 1) * len; i++) {
        const base = w0 ? (w0[i] as number) : 0;
        v.push((w[i] as number) - base);
        x.push((out[i] as number) - base);
      }
      // x = sign(v) max(|v| - theta, 0) with one theta > 0, and ||x||_1 = radius.
      const support = x.map((xi, i) => [xi, v[i] as number] as const).filter(([xi]) => xi !== 0);
      expect(support.length).toBeGreaterThan(0);
      const thetas = support.map(([xi, vi]) => Math.abs(vi) - Math.abs(xi));
      const theta = thetas.reduce((a, b) => a + b, 0) / thetas.length;
      expect(theta).toBeGreaterThan(0);
      for (const t of thetas) expect(Math.abs(t - theta)).toBeLessThanOrEqual(tol * 10);
      for (const [xi, vi] of support) expect(Math.sign(xi)).toBe(Math.sign(vi));
      x.forEach((xi, i) => {
        if (xi === 0) expect(Math.abs(v[i] as number)).toBeLessThanOrEqual(theta + tol * 10);
      });
      const l1 = x.reduce((a, b) => a + Math.abs(b), 0);
      expect(Math.abs(l1 - c.radius)).toBeLessThanOrEqual(c.radius * tol * 10);
      // Nearest point of a convex set: <v - x, z - x> <= 0 for every z in the ball.
      for (let k = 0; k < 20; k++) {
        const z = x.map(() => rnd());
        const zl1 = z.reduce((a, b) => a + Math.abs(b), 0);
        const scale = (c.radius / zl1) * (k % 2 === 0 ? 1 : 0.5);
        let dot = 0;
        z.forEach((zi, i) => (dot += ((v[i] as number) - (x[i] as number)) * (zi * scale - (x[i] as number))));
        expect(dot).toBeLessThanOrEqual(tol * 100);
      }
      // And it is closer to v than the reference's rescaled point.
      const f = c.radius / (before[r] as number);
      const distExact = x.reduce((a, xi, i) => a + (xi - (v[i] as number)) ** 2, 0);
      const distRescale = v.reduce((a, vi) => a + (vi * f - vi) ** 2, 0);
      expect(distExact).toBeLessThanOrEqual(distRescale * (1 + 1e-9));
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('exact l1 projection: a long row whose threshold search needs many rounds', () => {
  it('satisfies the optimality conditions (exercises the sort-based fallback)', async () => {
    // |v_i| = i / n: each Michelot round only halves the candidates, so a row
    // of 2^18 elements outlasts the 16 rounds and ends in the sort-based scan.
    const n = 1 << 18;
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = ((i + 1) / n) * (i % 3 === 0 ? -1 : 1);
    const radius = 3;
    const w = tensor(v.slice(), [1, n]);
    const stats = await projectMars(w, null, radius, { mode: 'exact-l1' });
    expect(stats.clipped).toBe(1);
    const x = w.data() as Float64Array;
    // Expected: theta with sum_i max(i/n - theta, 0) = 3, i.e. k = #support,
    // theta = (sum of the top k - 3) / k; check via the KKT conditions.
    let l1 = 0;
    let theta = -1;
    for (let i = 0; i < n; i++) {
      l1 += Math.abs(x[i]!);
      if (x[i] !== 0) {
        expect(Math.sign(x[i]!)).toBe(Math.sign(v[i]!));
        const t = Math.abs(v[i]!) - Math.abs(x[i]!);
        if (theta < 0) theta = t;
        expect(Math.abs(t - theta)).toBeLessThan(1e-12);
      }
    }
    for (let i = 0; i < n; i++) if (x[i] === 0) expect(Math.abs(v[i]!)).toBeLessThanOrEqual(theta + 1e-12);
    expect(Math.abs(l1 - radius)).toBeLessThan(1e-9);
    // The support is the top k with k(k+1)/(2n) - ... : about sqrt(2 r n) elements.
    const support = x.reduce((a, b) => a + (b !== 0 ? 1 : 0), 0);
    expect(Math.abs(support - Math.sqrt(2 * radius * n))).toBeLessThan(3);
  });
});

describe('BatchNorm clip', () => {
  it.each([['bn_f32'], ['bn_f64']] as const)('%s: channels inside are bit-identical, clipped ones sit on the box', (name) => {
    const { c, out } = get(name);
    const { w, rv, w0, rv0 } = c.inputs as Record<string, Float64Array>;
    let inside = 0;
    for (let i = 0; i < c.shape[0]!; i++) {
      const sd = Math.sqrt(rv![i]! + 1e-6);
      const s0 = w0![i]! / Math.sqrt(rv0![i]! + 1e-6);
      const t = w![i]! / sd - s0;
      if (Math.abs(t) <= c.radius) {
        inside++;
        expect(out[i]).toBe(w![i]);
      } else {
        expect(Math.abs(out[i]! / sd - s0 - Math.sign(t) * c.radius)).toBeLessThan(c.dtype === 'float32' ? 1e-6 : 1e-12);
      }
    }
    expect(inside).toBeGreaterThan(0);
    expect(inside).toBeLessThan(c.shape[0]!);
  });
});

describe('Frobenius', () => {
  it('a tensor inside the ball is not written (bit-identical)', () => {
    const { c, out, stats } = get('frob_inside_f32');
    expect(stats.clipped).toBe(0);
    expect(Array.from(out)).toEqual(Array.from(c.inputs.w!));
  });

  it('a clipped tensor ends on the sphere', () => {
    const { c, out } = get('frob_conv_f32');
    const w0 = c.inputs.w0!;
    let sq = 0;
    for (let i = 0; i < out.length; i++) sq += (out[i]! - w0[i]!) ** 2;
    expect(Math.abs(Math.sqrt(sq) - c.radius)).toBeLessThan(c.radius * 1e-5);
  });
});

describe('threads and sizes', () => {
  // Large enough that at::parallel_for splits rows (and Frobenius blocks) across threads.
  const big = rowCase('big_f32', 'mars', 'float32', [512, 2304], 21, true, 0.3);
  const bigFrob = frobeniusCase('bigfrob_f32', 'float32', [256, 2304], 22, 0.5);

  it('MARS: 1 and 2 threads give bit-identical results, equal to the oracle', async () => {
    const oracleStats = runOracle([big]);
    const outs: (Float32Array | Float64Array)[] = [];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const { out, stats } = await project(big);
      expect(stats.clipped).toBe(oracleStats.big_f32!.clipped);
      outs.push(out);
    }
    expect(Buffer.from(outs[0]!.buffer).equals(Buffer.from(outs[1]!.buffer))).toBe(true);
    expect(worstError(outs[1]!, readTyped(join(dir, 'big_f32.oracle.bin'), 'float32'), 1e-7, 2e-6)).toBeLessThanOrEqual(1);
  });

  it('Frobenius: 1 and 2 threads give bit-identical results, equal to the oracle', async () => {
    runOracle([bigFrob]);
    const outs: (Float32Array | Float64Array)[] = [];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      outs.push((await project(bigFrob)).out);
    }
    expect(Buffer.from(outs[0]!.buffer).equals(Buffer.from(outs[1]!.buffer))).toBe(true);
    expect(worstError(outs[1]!, readTyped(join(dir, 'bigfrob_f32.oracle.bin'), 'float32'), 1e-7, 2e-6)).toBeLessThanOrEqual(1);
  });
});

describe('projectMarsMany: one pass over many tensors', () => {
  const rowCases = () => CASES.filter((c) => c.op === 'mars' || c.op === 'exact');
  const tasksOf = (cases: Case[]) =>
    cases.map((c) => ({
      w: tensor(c.inputs.w!.slice(), c.shape),
      w0: c.hasW0 ? tensor(c.inputs.w0!.slice(), c.shape) : null,
      radius: c.radius,
    }));

  it.each([[1], [2]])('equals projectMars on each tensor, bit for bit, with the same statistics (%i threads)', async (threads) => {
    setNumThreads(threads);
    const cases = rowCases().filter((c) => c.op === 'mars');
    const big = rowCase('many_big', 'mars', 'float32', [256, 2304], 31, true, 0.4);
    const all = [...cases, big, ...cases];
    const tasks = tasksOf(all);
    const stats = await projectMarsMany(tasks);
    for (const [i, c] of all.entries()) {
      const single = await project(c);
      expect(Buffer.from(tasks[i]!.w.data().buffer).equals(Buffer.from(single.out.buffer))).toBe(true);
      expect(stats[i]).toEqual(single.stats);
    }
  });

  it('exact-l1 mode equals the single-tensor exact projection', async () => {
    const cases = rowCases().filter((c) => c.op === 'exact');
    const tasks = tasksOf(cases);
    await projectMarsMany(tasks, { mode: 'exact-l1' });
    cases.forEach((c, i) => expect(Array.from(floats(tasks[i]!.w))).toEqual(Array.from(get(c.name).out)));
  });

  it('a bad task fails the call before any tensor is written', async () => {
    const c = get('conv_f32').c;
    const tasks = tasksOf([c, c]);
    tasks.push({ w: tensor(new Float32Array(6), [2, 3]), w0: tensor(new Float32Array(6), [3, 2]), radius: 1 });
    await expect(projectMarsMany(tasks)).rejects.toMatchObject({ code: 'ERR_SHAPE', message: expect.stringContaining('tasks[2]') });
    expect(Array.from(floats(tasks[0]!.w))).toEqual(Array.from(c.inputs.w!));
    await expect(projectMarsMany([{ w: tasks[0]!.w, w0: null, radius: -2 }])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await projectMarsMany([])).toEqual([]);
  });
});

describe('edge cases', () => {
  it('radius 0 puts every row back on W0 exactly', async () => {
    const c = get('conv_f32').c;
    const w = tensor(c.inputs.w!.slice(), c.shape);
    const stats = await projectMars(w, tensor(c.inputs.w0!.slice(), c.shape), 0);
    expect(stats.clipped).toBe(c.shape[0]);
    expect(Array.from(floats(w))).toEqual(Array.from(c.inputs.w0!));
  });

  it('exact-l1 with radius 0 also puts every row back on W0', async () => {
    const c = get('exact_f64').c;
    const w = tensor(c.inputs.w!.slice(), c.shape);
    const stats = await projectMars(w, tensor(c.inputs.w0!.slice(), c.shape), 0, { mode: 'exact-l1' });
    expect(stats.clipped).toBe(c.shape[0]);
    expect(Array.from(floats(w))).toEqual(Array.from(c.inputs.w0!));
  });

  it('a row holding NaN is left alone and counted as non-finite; the other rows are projected', async () => {
    const w = new Float32Array([3, 4, Number.NaN, 1, 10, 10]);
    const t = tensor(w.slice(), [3, 2]);
    const stats = await projectMars(t, null, 1);
    expect(stats.nonFinite).toBe(1);
    expect(stats.clipped).toBe(2);
    const out = Array.from(floats(t));
    expect(out[0]).toBeCloseTo(3 / 7, 6);
    expect(out[1]).toBeCloseTo(4 / 7, 6);
    expect(Number.isNaN(out[2])).toBe(true);
    expect(out[3]).toBe(1);
    expect(out[4]).toBeCloseTo(0.5, 6);
  });

  it('empty tensors are accepted and report zero rows clipped', async () => {
    expect(await projectMars(tensor(new Float32Array(0), [0, 5]), null, 1)).toMatchObject({ rows: 0, clipped: 0 });
    expect(await projectFrobenius(tensor(new Float32Array(0), [3, 0]), null, 1)).toMatchObject({ clipped: 0 });
  });
});

describe('layouts: channels-last, transposed and strided parameters of a TorchScript module', () => {
  // Python writes a module whose parameters have these layouts, plus the
  // oracle's projections of them, computed on the same values.
  const MAKE = String.raw`
import json, sys, numpy as np, torch
d = sys.argv[1]
g = torch.Generator().manual_seed(5)
def rnd(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64).float()
def mars(w, w0, r):
    t = w - w0
    s = t.reshape(t.shape[0], -1).abs().sum(1, dtype=torch.float64)
    f = (r / s).float().reshape([-1] + [1] * (w.dim() - 1))
    ss = s.sort().values
    n = ss.numel()
    return torch.where((s > r).reshape(f.shape), w0 + t * f, w), float(0.5 * (ss[n // 2 - 1] + ss[n // 2]))
class M(torch.nn.Module):
    def __init__(self, p):
        super().__init__()
        for k, v in p.items():
            setattr(self, k, torch.nn.Parameter(v))
    def forward(self, x):
        return x
cl0 = rnd(8, 4, 3, 3) * 0.05
cl = cl0 + rnd(8, 4, 3, 3) * 0.02 * torch.linspace(0.2, 2, 8).reshape(8, 1, 1, 1)
tr0 = rnd(6, 10) * 0.05
tr = tr0 + rnd(6, 10) * 0.02 * torch.linspace(0.2, 2, 6).reshape(6, 1)
base = rnd(5, 12) * 0.05
sl0 = base[:, ::2].clone()
sl = sl0 + rnd(5, 6) * 0.02 * torch.linspace(0.2, 2, 5).reshape(5, 1)
full = base.clone()
full[:, ::2] = sl
params = dict(cl=cl.contiguous(memory_format=torch.channels_last), cl0=cl0.contiguous(memory_format=torch.channels_last),
              tr=tr.t(), tr0=tr0.t(), sl=full[:, ::2], sl0=sl0)
m = torch.jit.script(M(params))
torch.jit.save(m, d + '/layouts.pt')
meta = {}
for name, w, w0 in [('cl', cl, cl0), ('tr', tr.t(), tr0.t()), ('sl', sl, sl0)]:
    _, median = mars(w, w0, 1e9)
    out, _ = mars(w, w0, median)
    out.contiguous().numpy().tofile(f'{d}/layout_{name}.oracle.bin')
    w0.contiguous().numpy().tofile(f'{d}/layout_{name}.w0.bin')
    meta[name] = dict(radius=median, shape=list(w.shape), strides=list(m.state_dict()[name].stride()))
print(json.dumps(meta))
`;
  let meta: Record<string, { radius: number; shape: number[]; strides: number[] }>;
  beforeAll(() => {
    // A file, not -c: torch.jit.script reads the module's source.
    writeFileSync(join(dir, 'layouts.py'), MAKE);
    meta = JSON.parse(execFileSync(PYTHON, [join(dir, 'layouts.py'), dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  });

  it('the module really has the layouts under test', () => {
    expect(meta.cl!.strides).toEqual([36, 1, 12, 4]);
    expect(meta.tr!.strides).toEqual([1, 10]);
    expect(meta.sl!.strides).toEqual([12, 2]);
  });

  it.each([
    ['cl', 'channels-last W and W0 (fused path)', 'module'],
    ['cl', 'channels-last W, contiguous W0', 'array'],
    ['tr', 'transposed W and W0 (rows not dense: working copy)', 'module'],
    ['sl', 'strided slice W, contiguous W0', 'array'],
  ] as const)('%s: %s', async (name, _label, w0From) => {
    const module = await load(join(dir, 'layouts.pt'));
    const sd = module.stateDict();
    const m = meta[name]!;
    const w0 = w0From === 'module' ? sd[`${name}0`]! : tensor(readTyped(join(dir, `layout_${name}.w0.bin`), 'float32'), m.shape);
    const stats = await projectMars(sd[name]!, w0, m.radius);
    expect(stats.clipped).toBeGreaterThan(0);
    expect(stats.clipped).toBeLessThan(m.shape[0]!);
    // Read back through a fresh state dict: the module's own storage changed.
    const after = floats(module.stateDict()[name]!);
    expect(worstError(after, readTyped(join(dir, `layout_${name}.oracle.bin`), 'float32'), 1e-7, 2e-6)).toBeLessThanOrEqual(1);
  });
});

describe('errors carry stable codes', () => {
  const w = () => tensor(new Float32Array(6), [2, 3]);
  const cases: [string, () => Promise<unknown>, string][] = [
    ['int32 tensor', () => projectMars(tensor(new Int32Array(6), [2, 3]), null, 1), 'ERR_DTYPE'],
    ['W0 of another dtype', () => projectMars(w(), tensor(new Float64Array(6), [2, 3]), 1), 'ERR_DTYPE'],
    ['W0 of another shape', () => projectMars(w(), tensor(new Float32Array(6), [3, 2]), 1), 'ERR_SHAPE'],
    ['a scalar', () => projectMars(tensor(new Float32Array(1), []), null, 1), 'ERR_SHAPE'],
    ['negative radius', () => projectMars(w(), null, -1), 'ERR_INVALID_ARGUMENT'],
    ['NaN radius', () => projectFrobenius(w(), null, Number.NaN), 'ERR_INVALID_ARGUMENT'],
    ['infinite radius', () => projectMars(w(), null, Number.POSITIVE_INFINITY), 'ERR_INVALID_ARGUMENT'],
    ['unknown mode', () => projectMars(w(), null, 1, { mode: 'l2' as never }), 'ERR_INVALID_ARGUMENT'],
    ['not a tensor', () => projectMars({} as never, null, 1), 'ERR_INVALID_ARGUMENT'],
    ['BatchNorm weight 2-D', () => clipBatchNormScale(w(), w(), w(), w(), 1), 'ERR_SHAPE'],
    [
      'BatchNorm running variance of another length',
      () => clipBatchNormScale(tensor(new Float32Array(4)), tensor(new Float32Array(3)), tensor(new Float32Array(4)), tensor(new Float32Array(4)), 1),
      'ERR_SHAPE',
    ],
    ['BatchNorm negative eps', () => clipBatchNormScale(tensor(new Float32Array(4)), tensor(new Float32Array(4)), tensor(new Float32Array(4)), tensor(new Float32Array(4)), 1, { eps: -1 }), 'ERR_INVALID_ARGUMENT'],
  ];
  it.each(cases)('%s', async (_label, call, code) => {
    await expect(call()).rejects.toMatchObject({ code });
  });

  it('the native layer validates too (radius, dtype, mode), without the TypeScript checks', async () => {
    const addon = native();
    // Argument types are checked on the JS thread (a throw), the kernels' own checks on the compute thread (a rejection).
    const failure = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(await failure(() => addon.projectMars(w().handle, null, -0.5))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await failure(() => addon.projectMars(w().handle, null, Number.NaN))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await failure(() => addon.projectMars(tensor(new Uint8Array(6), [2, 3]).handle, null, 1))).toMatchObject({ code: 'ERR_DTYPE' });
    expect(await failure(() => addon.projectMars(w().handle, null, 1, 'nope' as never))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await failure(() => addon.projectFrobenius(w().handle, tensor(new Float32Array(5)).handle, 1))).toMatchObject({ code: 'ERR_SHAPE' });
  });
});
