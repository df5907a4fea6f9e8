// mars-ft finetune's flags as a user meets them: a bad value names the flag
// (not the API field it feeds), the baselines and --no-checkpoints do what
// they say, and output piped into a reader that stops early ends quietly.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const run = (...args: string[]) => runCli(args);
const finetune = (out: string, ...extra: string[]) =>
  run('finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--classes', '7,8', '--per-class', '8', '--epochs', '2', '--batch-size', '8', '--out', out, ...extra);

describe('a bad flag value', () => {
  it.each([
    [['--epochs', '0'], /--epochs 0: /],
    [['--batch-size', '2.5'], /--batch-size 2\.5: /],
    [['--lr=-1'], /--lr -1: /],
    [['--weight-decay', 'lots'], /--weight-decay must be a number, got 'lots'/],
    [['--schedule', 'wavy'], /--schedule must be one of constant, step, cosine, got 'wavy'/],
    [['--warmup=-2'], /--warmup -2: /],
    [['--extractor', '-2'], /--extractor -2: Too small: expected number to be >=0/],
    [['--extractor=-2'], /--extractor -2: /],
    [['--classifier=-1'], /--classifier -1: /],
    [['--class-weights', '1,x'], /--class-weights 1,x: /],
    [['--resize', '0'], /--resize must be N or HxW/],
    [['--crop', '3y'], /--crop must be N or HxW/],
    [['--device', 'gpu'], /--device gpu: /],
    [['--bound', 'always'], /--bound always: /],
    [['--patience', '3'], /--patience needs --val/],
    [['--no-checkpoints', '--resume'], /--resume needs the checkpoints/],
    [['--optimizer', 'lion'], /--optimizer lion: /],
  ])('%j names the flag and exits 2 before any work', async (flags, message) => {
    const r = await finetune('/tmp/never-written', ...flags);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/fineTune options|options\./);
    expect(r.status).toBe(2);
  });

  it('--class-names with the wrong count names the flag', async () => {
    const r = await finetune('/tmp/never-written', '--class-names', 'a,b,c');
    expect(r.stderr).toMatch(/--class-names gives 3 names for the 2 classes/);
    expect(r.status).toBe(1);
  });
});

describe('runs', () => {
  it('--freeze-backbone --no-checkpoints, without --test: the backbone never moves, no checkpoint is written', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mars-flags-'));
    const r = await finetune(out, '--freeze-backbone', '--no-checkpoints', '--method', 'none', '--schedule', 'cosine', '--weight-decay', '0.01');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no test data/);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { learningRate: number; distances: { name: string; mars: number }[] });
    for (const e of epochs) expect(e.distances.filter((d) => d.name.startsWith('backbone.')).every((d) => d.mars === 0)).toBe(true);
    expect(epochs.at(-1)!.learningRate).toBeGreaterThan(0); // cosine: the last epoch still learns
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.settings).toMatchObject({ freezeBackbone: true, reinit: false, checkpoints: false, schedule: { type: 'cosine' }, optimizer: { weightDecay: 0.01 } });
    expect(summary.final).toEqual({ epoch: 2 });
  });
});

describe('piping into a reader that stops early', () => {
  it.each([
    ['inspect', [fixturePath('bn_resnet')]],
    ['inspect', ['--json', fixturePath('bn_resnet')]],
  ])('%s %j | true exits 0 without a word on stderr', async (command, args) => {
    // `true` exits at once, so every write of mars-ft meets a closed pipe (EPIPE).
    const r = await runCli(['-c', `"${process.execPath}" "${CLI}" ${command} ${args.map((a) => `"${a}"`).join(' ')} | true; exit \${PIPESTATUS[0]}`], 'bash', []);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
