// setNumThreads takes effect after LibTorch has already run: a fine-tuning on
// 1 thread after one on 2 threads in the same process matches a fresh process
// on 1 thread (mars-ft finetune), and 2 threads differ from 1 on this network,
// so the comparison can tell.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fineTune, openDataset } from '../lib/index.js';
import { CLI, ROOT } from './helpers/paths.js';

const target = join(ROOT, 'assets', 'target');
const data = (split: string) => `idx:${join(target, `${split}-images.idx.gz`)},${join(target, `${split}-labels.idx.gz`)}`;
const backbone = join(ROOT, 'assets', 'backbone.pt');

/** Training losses per epoch of `mars-ft finetune` in a fresh process. */
function cli(threads: number): number[] {
  const out = mkdtempSync(join(tmpdir(), 'mars-threads-'));
  const r = spawnSync(process.execPath, [CLI, 'finetune', '--backbone', backbone, '--train', data('train'), '--test', data('test'), '--per-class', '10',
    '--seed', '1', '--epochs', '2', '--batch-size', '16', '--lr', '0.001', '--threads', String(threads), '--out', out], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).train.loss as number);
}

describe('threads', () => {
  it('a later setNumThreads reaches the compute thread', async () => {
    const train = await openDataset(data('train'), { perClass: 10, seed: 1 });
    const run = async (threads: number) =>
      (await fineTune({ backbone, train, seed: 1, epochs: 2, batchSize: 16, optimizer: { lr: 1e-3 }, threads })).history.map((e) => e.train.loss);
    await run(2);
    const [here, fresh1, fresh2] = [await run(1), cli(1), cli(2)];
    expect(fresh2).not.toEqual(fresh1);
    expect(here).toEqual(fresh1);
  });
});
