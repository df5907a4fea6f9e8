// The loader refuses unusable binaries with one error that says why and what to do.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

const built = join(ROOT, 'build', 'Release');
const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as { libtorch: Record<string, unknown> };
const work = mkdtempSync(join(tmpdir(), 'mars-loader-'));

/** Loads the package in a fresh process with MARS_FT_BINARY=binary; returns the error code and message, or 'ok'. */
function loadWith(binary: string): { code: string; message: string; status: number | null; signal: string | null } {
  const script = `
    const { runtimeInfo } = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
    try { runtimeInfo(); console.log(JSON.stringify({ code: 'ok', message: '' })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, MARS_FT_BINARY: binary, MARS_FT_NO_PROBE: '' },
  });
  return { ...(JSON.parse(r.stdout.trim() || '{}') as { code: string; message: string }), status: r.status, signal: r.signal };
}

/** A copy of the built binary in its own folder, with the manifest changed by `edit`. */
function variant(name: string, edit: (m: typeof manifest) => void, binary?: Buffer): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const path = join(dir, 'mars_finetune.node');
  if (binary) writeFileSync(path, binary);
  else copyFileSync(join(built, 'mars_finetune.node'), path);
  const m = structuredClone(manifest);
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return path;
}

describe('loader', () => {
  it('loads a good binary (after a test load in a child process)', () => {
    expect(loadWith(variant('good', () => {})).code).toBe('ok');
  });

  it('refuses a missing binary, naming the path', () => {
    const r = loadWith(join(work, 'nowhere', 'mars_finetune.node'));
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain('does not exist');
  });

  it('refuses a binary without a manifest, with the rebuild command', () => {
    const dir = join(work, 'bare');
    mkdirSync(dir);
    copyFileSync(join(built, 'mars_finetune.node'), join(dir, 'mars_finetune.node'));
    const r = loadWith(join(dir, 'mars_finetune.node'));
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toMatch(/no manifest\.json.*npm rebuild mars-finetune/s);
  });

  it('refuses a binary built for another LibTorch version at the same place', () => {
    const r = loadWith(variant('version', (m) => (m.libtorch.version = '9.9.9')));
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain(`built for LibTorch 9.9.9 but ${String(manifest.libtorch.libDir)} now holds ${String(manifest.libtorch.version)}`);
  });

  it('points to a matching LibTorch found elsewhere when the recorded one is gone', () => {
    const r = loadWith(variant('moved', (m) => (m.libtorch.libDir = '/opt/no-such-libtorch/lib')));
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain(`found it at ${String(manifest.libtorch.libDir)}: run with LD_LIBRARY_PATH=`);
  });

  it('refuses a binary for another platform', () => {
    const r = loadWith(variant('platform', (m) => Object.assign(m, { platform: 'win32' })));
    expect(r.message).toContain('built for win32-');
  });

  it('survives a corrupt binary: the test load fails in the child, not in the caller', () => {
    const r = loadWith(variant('corrupt', () => {}, Buffer.from('\x7fELF this is not a shared object')));
    expect(r.status).toBe(0);
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toMatch(/test load failed|LibTorch/);
  });
});
