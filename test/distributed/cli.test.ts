// The check, through the CLI (dist/, so `npm run build:ts` first):
// `mars-ft finetune --nproc 2` on a folder dataset and a backbone made here
// (an architecture the repository has never seen, with BatchNorm) completes,
// writes one model.pt whose backbone rows stay inside their MARS-SP radius
// (measured by PyTorch on the saved files), and reports a test accuracy close
// to one process with the same global batch.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { python } from '../helpers/fixtures.js';
import { CLI } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-ddp-cli-'));
const RADIUS = 0.5;

/** Fashion-MNIST classes 5, 7, 9 as PNG folders (48 train, 60 test items each) and a fresh traced backbone. */
function makeJob(): { train: string; test: string; backbone: string } {
  return python(
    `
import gzip, json, os, sys
import numpy as np, torch, torch.nn as nn
from PIL import Image
root = sys.argv[1]
src = '/usr/share/datasets/fashion-mnist'
def read(split):
    with gzip.open(f'{src}/{split}-images-idx3-ubyte.gz') as f: x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f'{src}/{split}-labels-idx1-ubyte.gz') as f: y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y
names = {5: 'sandal', 7: 'sneaker', 9: 'boot'}
for split, folder, per in (('train', 'train', 48), ('t10k', 'test', 60)):
    x, y = read(split)
    for label, name in names.items():
        os.makedirs(f'{root}/{folder}/{name}', exist_ok=True)
        for i, k in enumerate(np.flatnonzero(y == label)[:per]):
            Image.fromarray(x[k]).save(f'{root}/{folder}/{name}/{i}.png')
torch.manual_seed(3)
net = nn.Sequential(nn.Conv2d(1, 6, 5, stride=2), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 12, 3, stride=2), nn.BatchNorm2d(12), nn.ReLU(),
                    nn.Conv2d(12, 16, 3), nn.ReLU()).eval()
torch.jit.trace(net, torch.zeros(1, 1, 28, 28)).save(f'{root}/unseen.pt')
print(json.dumps({'train': f'{root}/train', 'test': f'{root}/test', 'backbone': f'{root}/unseen.pt'}))
`,
    [dir],
  );
}

/** Runs the CLI without blocking this process's event loop (vitest's worker talks through it). */
async function finetune(args: string[]): Promise<{ testAccuracy: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'finetune', ...args, '--json'], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(stdout) as { testAccuracy: number };
}

/** Largest row l1 distance of each backbone conv/linear weight from the backbone file's, by PyTorch. */
function rowDistances(model: string, backbone: string): Record<string, number> {
  return python(
    `
import json, sys, torch
m, b = torch.jit.load(sys.argv[1]), torch.jit.load(sys.argv[2])
init = dict(b.named_parameters())
out = {}
for name, p in m.backbone.named_parameters():
    if name.endswith('weight') and p.dim() >= 2:
        out[name] = (p - init[name]).reshape(p.shape[0], -1).abs().sum(1).max().item()
print(json.dumps(out))
`,
    [model, backbone],
  );
}

describe('mars-ft finetune --nproc 2', () => {
  it('trains on a folder and an unseen backbone, writes one model inside the radius, scores like one process', async () => {
    const { train, test, backbone } = makeJob();
    const common = ['--backbone', backbone, '--train', train, '--test', test, '--epochs', '6', '--lr', '0.003', '--extractor', String(RADIUS), '--seed', '2'];
    const [oneOut, twoOut] = [join(dir, 'one'), join(dir, 'two')];
    const one = await finetune([...common, '--batch-size', '16', '--threads', '2', '--out', oneOut]);
    const two = await finetune([...common, '--batch-size', '8', '--nproc', '2', '--sync-batchnorm', '--out', twoOut]);
    expect(readdirSync(twoOut).filter((f) => f.endsWith('.pt'))).toEqual(['model.pt']);
    expect(existsSync(join(twoOut, 'checkpoints', 'last.pt'))).toBe(true);
    expect(readFileSync(join(twoOut, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);
    const distances = rowDistances(join(twoOut, 'model.pt'), backbone);
    expect(Object.keys(distances)).toHaveLength(3);
    const moved = Math.max(...Object.values(distances));
    expect(moved).toBeGreaterThan(RADIUS / 4);
    for (const [name, d] of Object.entries(distances)) expect(d, name).toBeLessThanOrEqual(RADIUS * (1 + 1e-5));
    expect(one.testAccuracy).toBeGreaterThan(0.5);
    expect(Math.abs(two.testAccuracy - one.testAccuracy)).toBeLessThan(0.03);
  });
});
