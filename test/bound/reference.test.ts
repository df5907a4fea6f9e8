// computeBound against the independent Python reference (reference.py: a
// torch.fx walk of the Python networks, numpy float64, exact operator
// matrices), on networks that cover every rule, in both modes.
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeBound, type BoundReport } from '../../lib/index.js';
import { loadCase, reference, relativeError, type ReferenceRequest, type ReferenceResult } from './helpers.js';

const POSTHOC = ['chain', 'chain_nobias', 'bn_cnn', 'traced_cnn', 'matmul', 'vector', 'seq_bn', 'backbone_head'];
// A priori: the network MARS-SP projected (NAME.mars.pt) in the class around its centre (NAME.centre.pt).
const APRIORI = ['chain', 'chain_nobias', 'bn_cnn', 'traced_cnn', 'backbone_head'];
const apriori = (name: string, layers?: Record<string, number>): ReferenceRequest => {
  const c = loadCase(name);
  return {
    case: name,
    mode: 'apriori',
    radii: { ...(c.apriori as NonNullable<typeof c.apriori>), ...(layers ? { layers } : {}) },
    model: basename(c.mars),
    init: basename(c.centre),
  };
};
const REQUESTS: ReferenceRequest[] = [
  ...POSTHOC.map((c) => ({ case: c, mode: 'posthoc' as const, margin: 0.5, delta: 0.1 })),
  ...APRIORI.map((c) => apriori(c)),
  // Radii by parameter name, above the projected ones: weights, a folded and a lone BatchNorm, the head.
  apriori('bn_cnn', { 'conv_a.weight': 0.6, 'bn_a.weight': 0.08, 'bn_lone.weight': 0.3, 'head.weight': 2 }),
];
const label = (r: ReferenceRequest) => `${r.case} ${r.mode}${r.radii?.layers ? ' with radii by name' : ''}`;

let expected: ReferenceResult[];
beforeAll(() => {
  expected = reference(REQUESTS);
});

describe.each(REQUESTS.map((r, i) => [label(r), i] as const))('%s', (_label, i) => {
  const request = REQUESTS[i] as ReferenceRequest;
  let got: BoundReport;
  let want: ReferenceResult;
  beforeAll(async () => {
    const c = loadCase(request.case);
    want = expected[i] as ReferenceResult;
    const [model, init] = request.mode === 'apriori' ? [c.mars, c.centre] : [c.model, c.init];
    got = await computeBound({ model, init, data: c.data, mode: request.mode, radii: request.radii, margin: request.margin, delta: request.delta });
  });

  it('reports the sample as the reference reads it', () => {
    expect([got.m, got.d, got.X, got.K]).toEqual([want.m, want.d, want.X, want.K]);
  });

  it('rademacher (Q/m) and A agree to 1e-9', () => {
    expect(want.rademacher).toBeGreaterThan(0);
    expect(relativeError(got.rademacher, want.rademacher)).toBeLessThan(1e-9);
    expect(relativeError(got.recursion.A, want.A)).toBeLessThan(1e-9);
  });

  it('every layer: names, head, norms, distances and radii agree', () => {
    expect(got.layers.map((l) => [l.name, l.head])).toEqual(want.layers.map((l) => [l.name, l.head]));
    got.layers.forEach((l, j) => {
      const w = want.layers[j] as (typeof want.layers)[number];
      for (const key of ['initNorm', 'norm', 'distance', 'frobeniusDistance', 'operatorL21Distance', 'radius', 'biasRadius'] as const) {
        expect(relativeError(l[key], w[key]), `${l.name}.${key}`).toBeLessThan(1e-9);
      }
      // Power iteration against the exact operator norm: from below, and close.
      expect(relativeError(l.spectralNorm as number, w.spectralNorm), `${l.name}.spectralNorm`).toBeLessThan(1e-7);
    });
  });

  it('generalisation terms, spectral comparison and the Graf et al. reconstruction agree', () => {
    for (const key of ['marginLoss', 'rademacherPi1', 'complexity', 'confidence', 'total'] as const) {
      expect(relativeError(got.generalisation[key], want.generalisation[key]), key).toBeLessThan(1e-6);
    }
    expect(relativeError(got.spectral?.spectralComplexity as number, want.spectral.spectralComplexity)).toBeLessThan(1e-6);
    expect(relativeError(got.spectral?.complexity as number, want.spectral.complexity)).toBeLessThan(1e-6);
    expect(relativeError(got.graf.value, want.graf)).toBeLessThan(1e-9);
  });
});

it('a backbone-only init: the head is found by prefix and starts at zero', async () => {
  const c = loadCase('backbone_head');
  const r = await computeBound({ model: c.model, init: c.init, data: c.data });
  expect(r.init).toEqual({ prefix: 'backbone.', zeroed: ['head.weight', 'head.bias'] });
  const head = r.layers.find((l) => l.name === 'head');
  expect(head?.initNorm).toBe(0);
  expect(r.notes.join(' ')).toContain('head.weight');
});
