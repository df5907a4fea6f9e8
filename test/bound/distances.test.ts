// layerDistances (what a trainer logs per epoch) against PyTorch's own
// arithmetic on the same TorchScript files.
import { expect, it } from 'vitest';
import { layerDistances } from '../../lib/index.js';
import { python } from '../helpers/fixtures.js';
import { loadCase, relativeError } from './helpers.js';

const ORACLE = `
import json, sys, torch
model = torch.jit.load(sys.argv[1]).state_dict()
init = torch.jit.load(sys.argv[2]).state_dict()
prefix = sys.argv[3]
out = {}
for name, p in torch.jit.load(sys.argv[1]).named_parameters():
    w = p.detach().double().reshape(p.shape[0], -1)
    key = name[len(prefix):] if name.startswith(prefix) else None
    w0 = init[key].double().reshape(w.shape) if key in init else torch.zeros_like(w)
    out[name] = {"mars": float((w - w0).abs().sum(1).max()), "frobenius": float((w - w0).norm()),
                 "norm": float(w.abs().sum(1).max()), "initNorm": float(w0.abs().sum(1).max()), "fromZero": key not in init}
print(json.dumps(out))
`;

it.each([
  ['bn_cnn', ''],
  ['backbone_head', 'backbone.'],
])('%s: every parameter as PyTorch measures it', async (name, prefix) => {
  const c = loadCase(name);
  const got = await layerDistances(c.model, c.init);
  const want = python<Record<string, { mars: number; frobenius: number; norm: number; initNorm: number; fromZero: boolean }>>(ORACLE, [c.model, c.init, prefix]);
  expect(got.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
  expect(got.some((t) => t.mars > 0)).toBe(true);
  for (const t of got) {
    const w = want[t.name] as (typeof want)[string];
    expect(t.fromZero, t.name).toBe(w.fromZero);
    for (const key of ['mars', 'frobenius', 'norm', 'initNorm'] as const) expect(relativeError(t[key], w[key]), `${t.name}.${key}`).toBeLessThan(1e-12);
  }
});
