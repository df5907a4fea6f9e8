// The mars-ft command line, run as a user would (the compiled dist/cli/main.js).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath, meta } from './helpers/fixtures.js';
import { CLI, ROOT } from './helpers/paths.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('mars-ft', () => {
  it('--help lists the commands', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: mars-ft <command>/);
    expect(r.stdout).toMatch(/inspect/);
  });

  it('--version prints the package version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('an unknown command exits 2 with the help', () => {
    const r = run('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('inspect --json lists what PyTorch lists', () => {
    const r = run('inspect', fixturePath('bn_resnet'), '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { tensors: { name: string; shape: number[]; kind: string; isBuffer: boolean }[]; training: boolean };
    expect(out.training).toBe(false);
    expect(out.tensors.map(({ name, shape, kind, isBuffer }) => ({ name, shape, kind, isBuffer }))).toEqual(
      meta('bn_resnet').parameters.map(({ name, shape, kind, isBuffer }) => ({ name, shape, kind, isBuffer })),
    );
  });

  it('inspect prints a table with one row per tensor', () => {
    const r = run('inspect', fixturePath('small_cnn'));
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^name\s+shape\s+dtype\s+kind\s+module\s+trainable$/);
    expect(lines).toContainEqual(expect.stringMatching(/^conv1\.weight\s+\[8, 1, 3, 3\]\s+float32\s+conv\s+Conv2d\s+yes$/));
    expect(r.stdout).toMatch(/6 parameters \(1,418 elements, 1,418 trainable\), 0 buffers/);
  });

  it('inspect of a missing file exits 1 with the error code', () => {
    const r = run('inspect', '/no/such/model.pt');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_TORCHSCRIPT_LOAD\].*no such file/);
  });
});

describe('mars-ft finetune and predict', () => {
  const FMNIST = '/usr/share/datasets/fashion-mnist';
  const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;

  it('writes model.pt, metrics.jsonl and summary.json; predict names the classes', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'mars-cli-'));
    const r = run('finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--test', data('t10k'),
      '--classes', '7,8', '--per-class', '10', '--class-names', 'sneaker,bag', '--method', 'mars-sp',
      '--extractor', '1', '--classifier', '3', '--epochs', '2', '--batch-size', '10', '--lr', '0.001', '--out', out, '--json');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ method: 'mars-sp', regulariser: { method: 'mars-sp', extractor: 1, classifier: 3, includeBias: false, overrides: [] }, epochs: 2, trainItems: 20, testItems: 2000, classNames: ['sneaker', 'bag'] });
    expect(typeof summary.testAccuracy).toBe('number');
    expect(typeof summary.seconds).toBe('number');
    expect(JSON.parse(r.stdout)).toEqual(summary);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; distances: unknown[] });
    expect(lines.map((l) => l.epoch)).toEqual([1, 2]);
    expect(lines[0]!.distances.length).toBeGreaterThan(0);

    const sharp = (await import('sharp')).default;
    const image = join(out, 'thing.png');
    writeFileSync(image, await sharp({ create: { width: 40, height: 40, channels: 3, background: '#808080' } }).png().toBuffer());
    const p = run('predict', '--model', join(out, 'model.pt'), image, '--top', '2', '--json');
    expect(p.stderr).toBe('');
    const predictions = JSON.parse(p.stdout) as { file: string; predictions: { className: string; probability: number }[] }[];
    expect(predictions[0]!.file).toBe(image);
    expect(predictions[0]!.predictions.map((x) => x.className).sort()).toEqual(['bag', 'sneaker']);
    const total = predictions[0]!.predictions.reduce((a, x) => a + x.probability, 0);
    expect(total).toBeCloseTo(1, 5);
  });

  it('rejects an unknown method and a missing --out with exit 2', () => {
    expect(run('finetune', '--backbone', 'x.pt', '--train', 'a', '--test', 'b', '--out', '/tmp/x', '--method', 'magic').status).toBe(2);
    expect(run('finetune', '--backbone', 'x.pt', '--train', 'a', '--test', 'b').status).toBe(2);
  });
});

describe('mars-ft finetune and Ctrl-C', () => {
  it('SIGINT writes DIR/checkpoints/last.pt and exits with status 130; --resume continues from it', async () => {
    const { spawn } = await import('node:child_process');
    const { existsSync, mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const out = mkdtempSync(join(tmpdir(), 'mars-sigint-'));
    const FMNIST = '/usr/share/datasets/fashion-mnist';
    const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
    const args = ['finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--test', data('t10k'),
      '--classes', '7,8', '--per-class', '40', '--epochs', '200', '--batch-size', '10', '--out', out];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    const status = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // One Ctrl-C stops cleanly; a second one would kill the process outright.
        if (!sent && /epoch 2\/200/.test(stderr)) (sent = true), child.kill('SIGINT');
      });
      child.on('exit', (code) => resolve(code));
    });
    expect(stderr).toMatch(/aborted in epoch \d+; resume from .*last\.pt/);
    expect(status).toBe(130);
    expect(existsSync(join(out, 'checkpoints', 'last.pt'))).toBe(true);
    const done = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    const resumed = run(...args.map((a) => (a === '200' ? String(done + 1) : a)), '--resume', '--json');
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout).epochs).toBe(done + 1);
  });
});
