// Folding BatchNorm: the folded layer must compute what conv + BatchNorm in
// eval mode compute, as PyTorch runs them (float64).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { foldBatchNorm, load } from '../../lib/index.js';
import { python } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';
import { loadCase } from './helpers.js';

const ORACLE = `
import sys, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, sys.argv[6])
from bound_networks import CASES
net = CASES[sys.argv[7]][0]()
net.load_state_dict(torch.jit.load(sys.argv[1]).state_dict())
net = net.double().eval()
conv, bn = net.get_submodule(sys.argv[2]), net.get_submodule(sys.argv[3])
w = torch.from_numpy(np.fromfile(sys.argv[4], dtype='<f8')).reshape(conv.weight.shape)
b = torch.from_numpy(np.fromfile(sys.argv[5], dtype='<f8'))
x = torch.randn(4, conv.weight.shape[1] * conv.groups, 9, 9, dtype=torch.float64)
with torch.no_grad():
    ref = bn(conv(x))
    out = F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
print('{"diff": %r, "scale": %r, "eps": %r}' % (float((out - ref).abs().max()), float(ref.abs().max()), bn.eps))
`;

it.each([
  ['bn_cnn', 'stem.0', 'stem.1'],
  ['bn_cnn', 'conv_a', 'bn_a'],
  ['traced_cnn', 'c1', 'bn'],
])('%s: %s folded with %s computes conv + BatchNorm', async (name, conv, bn) => {
  const c = loadCase(name);
  const t = (await load(c.model)).stateDict();
  const folded = await foldBatchNorm(
    { weight: t[`${conv}.weight`]!, bias: t[`${conv}.bias`] },
    { weight: t[`${bn}.weight`], bias: t[`${bn}.bias`], runningMean: t[`${bn}.running_mean`]!, runningVar: t[`${bn}.running_var`]!, eps: 1e-5 },
  );
  expect(folded.weight.dtype).toBe('float64');
  const dir = mkdtempSync(join(tmpdir(), 'mars-fold-'));
  writeFileSync(join(dir, 'w.bin'), folded.weight.data() as Float64Array);
  writeFileSync(join(dir, 'b.bin'), folded.bias.data() as Float64Array);
  const r = python<{ diff: number; scale: number; eps: number }>(ORACLE, [c.model, conv, bn, join(dir, 'w.bin'), join(dir, 'b.bin'), join(ROOT, 'scripts', 'fixtures'), name]);
  expect(r.eps).toBe(1e-5);
  expect(r.scale).toBeGreaterThan(0.1);
  expect(r.diff).toBeLessThan(1e-12 * Math.max(1, r.scale));
});
