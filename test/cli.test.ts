// The mars-ft command line, run as a user would (the compiled dist/cli/main.js).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixturePath, meta } from './helpers/fixtures.js';
import { CLI } from './helpers/paths.js';

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('mars-ft', () => {
  it('--help lists the commands', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: mars-ft <command>/);
    expect(r.stdout).toMatch(/inspect/);
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
