// The loader picks the binary that fits the LibTorch it finds, loads LibTorch
// from wherever LIBTORCH says, and refuses everything else with one error
// that names both versions and the fix.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';
import { explainFailure } from '../lib/native/explain.js';

const built = join(ROOT, 'build', 'Release');
const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as { libtorch: { version: string; libDir: string; [k: string]: unknown } };
const work = mkdtempSync(join(tmpdir(), 'mars-loader-'));

interface Loaded {
  code: string;
  message: string;
  binary?: { origin: string; libtorch: { source: string; libDir: string; version: string } };
  libraries?: string[];
  status: number | null;
}

const LOAD_SCRIPT = `
    const { runtimeInfo } = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
    try {
      const { binary } = runtimeInfo();
      const libraries = process.report.getReport().sharedObjects.filter((f) => /lib(torch|c10)/.test(f));
      console.log(JSON.stringify({ code: 'ok', message: '', binary, libraries }));
    } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
// Nothing of the suite's own choice of binary or Python (scripts/test-torch2.sh sets them) reaches the child.
const childEnv = (env: Record<string, string>) => ({ ...process.env, MARS_FT_NO_PROBE: '', LIBTORCH: '', MARS_FT_BINARY: '', PYTHON: '', ...env });
const parseLoaded = (stdout: string, status: number | null): Loaded => ({ ...(JSON.parse(stdout.trim() || '{}') as Omit<Loaded, 'status'>), status });

/** Loads the package in a fresh process; returns the error code and message, or 'ok' with the binary and the LibTorch files mapped. */
function loadWith(env: Record<string, string>): Loaded {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', LOAD_SCRIPT], { encoding: 'utf8', env: childEnv(env) });
  return parseLoaded(r.stdout, r.status);
}

/** loadWith, in a process that runs beside the caller. */
function loadBeside(env: Record<string, string>): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', LOAD_SCRIPT], { env: childEnv(env), stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve(parseLoaded(stdout, status)));
  });
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

/**
 * A LibTorch folder laid out as pytorch.org ships one (lib/, share/cmake/Torch/,
 * build-version) whose libraries are links to the system's; `version` goes in
 * its build-version file.
 */
function libtorchFolder(name: string, version: string): string {
  const prefix = join(work, name);
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  mkdirSync(join(prefix, 'share', 'cmake', 'Torch'), { recursive: true });
  for (const lib of ['libc10', 'libtorch_cpu', 'libtorch']) symlinkSync(join(manifest.libtorch.libDir, `${lib}.so`), join(prefix, 'lib', `${lib}.so`));
  writeFileSync(join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# stands in for LibTorch\'s own\n');
  writeFileSync(join(prefix, 'build-version'), `${version}+cpu\n`);
  return prefix;
}

const good = variant('good', () => {});

describe('loader', () => {
  it('loads a good binary (after a test load in a child process)', () => {
    const r = loadWith({ MARS_FT_BINARY: good });
    expect(r.code).toBe('ok');
    expect(r.binary?.origin).toBe('MARS_FT_BINARY');
  });

  it('loads LibTorch from the folder LIBTORCH names, not from where the binary was built', () => {
    const prefix = libtorchFolder('relocated', manifest.libtorch.version);
    const r = loadWith({ MARS_FT_BINARY: good, LIBTORCH: prefix });
    expect(r.code).toBe('ok');
    expect(r.binary?.libtorch.source).toBe(`LIBTORCH=${prefix}`);
    for (const lib of ['libc10.so', 'libtorch_cpu.so', 'libtorch.so']) expect(r.libraries).toContain(join(prefix, 'lib', lib));
  });

  it('loads a local build with the LibTorch it was built against without running any Python; other binaries ask each python3', () => {
    // A python3 first on PATH (and as PYTHON) that leaves a mark when run, then runs the real one.
    const bin = join(work, 'fake-python');
    mkdirSync(bin);
    const mark = join(work, 'python-ran');
    writeFileSync(join(bin, 'python3'), `#!/bin/sh\ntouch ${mark}\nexec /usr/bin/python3 "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH}`, PYTHON: join(bin, 'python3') };
    const local = loadWith(env);
    expect(local.code).toBe('ok');
    expect(local.binary?.origin).toBe('local build');
    expect(local.binary?.libtorch.libDir).toBe(manifest.libtorch.libDir);
    expect(existsSync(mark)).toBe(false);
    const other = loadWith({ ...env, MARS_FT_BINARY: good });
    expect(other.code).toBe('ok');
    expect(existsSync(mark)).toBe(true);
  });

  it('refuses a LIBTORCH of another version with one message naming both versions and the fix', () => {
    const prefix = libtorchFolder('other-version', '2.5.0');
    const r = loadWith({ MARS_FT_BINARY: good, LIBTORCH: prefix });
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain(`MARS_FT_BINARY: built for LibTorch ${manifest.libtorch.version} (CPU, C++11 ABI), but LIBTORCH=${prefix} has LibTorch 2.5.0 (CPU, C++11 ABI)`);
    expect(r.message).toMatch(/Fix:\n- for LibTorch 2\.5\.0 .*: build the addon for it, `npm install --save-dev cmake-js node-addon-api && npx mars-ft build`/);
    expect(r.message).toContain('unset LIBTORCH, or point it at that LibTorch');
  });

  it('uses the LibTorch found here when the one it was built against has moved', () => {
    const r = loadWith({ MARS_FT_BINARY: variant('moved', (m) => (m.libtorch.libDir = '/opt/no-such-libtorch/lib')) });
    expect(r.code).toBe('ok');
    expect(r.binary?.libtorch.libDir).toBe(manifest.libtorch.libDir);
  });

  it('refuses a binary for another C++ ABI or another flavour, naming both', () => {
    const abi = loadWith({ MARS_FT_BINARY: variant('abi', (m) => (m.libtorch.cxx11Abi = false)) });
    expect(abi.message).toContain(`built for LibTorch ${manifest.libtorch.version} (CPU, pre-C++11 ABI), but system has LibTorch ${manifest.libtorch.version} (CPU, C++11 ABI)`);
    const cuda = loadWith({ MARS_FT_BINARY: variant('cuda', (m) => (m.libtorch.cuda = '13.0')) });
    expect(cuda.message).toContain(`built for LibTorch ${manifest.libtorch.version} (CUDA 13.0, C++11 ABI), but system has`);
  });

  it('without any LibTorch, says where it looked and how to install one', () => {
    const r = loadWith({ MARS_FT_BINARY: good, LIBTORCH: join(work, 'nowhere') });
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain(`LIBTORCH=${join(work, 'nowhere')}: no Torch/TorchConfig.cmake`);
    expect(r.message).toContain('`apt-get install libtorch-dev`');
    expect(r.message).toContain('pip install torch');
  });

  it('refuses a missing binary, naming the path', () => {
    const r = loadWith({ MARS_FT_BINARY: join(work, 'nowhere', 'mars_finetune.node') });
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toContain('does not exist');
  });

  it('refuses a binary without a manifest, with the build command', () => {
    const dir = join(work, 'bare');
    mkdirSync(dir);
    copyFileSync(join(built, 'mars_finetune.node'), join(dir, 'mars_finetune.node'));
    const r = loadWith({ MARS_FT_BINARY: join(dir, 'mars_finetune.node') });
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toMatch(/no manifest\.json.*npx mars-ft build/s);
  });

  it('refuses a binary for another platform', () => {
    const r = loadWith({ MARS_FT_BINARY: variant('platform', (m) => Object.assign(m, { platform: 'win32' })) });
    expect(r.message).toContain('built for win32-');
  });

  it('six processes that test-load a new binary at once all load it, and leave one verdict and no temporary file', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mars-loader-cache-'));
    const binary = variant('concurrent', () => {});
    const results = await Promise.all(Array.from({ length: 6 }, () => loadBeside({ MARS_FT_BINARY: binary, TMPDIR: cache })));
    expect(results.map((r) => r.code)).toEqual(new Array(6).fill('ok'));
    const [folder] = readdirSync(cache);
    expect(folder).toMatch(/^mars-finetune-probes-/);
    expect(readdirSync(join(cache, folder!))).toEqual([expect.stringMatching(/^[0-9a-f]{40}\.ok$/)]);
  });

  it('a test load that loaded the binary and then crashed at exit does not refuse it', () => {
    // Every process of this load crashes as it exits, the test load's child included.
    const crash = join(work, 'crash-at-exit.cjs');
    writeFileSync(crash, "process.on('exit', () => process.kill(process.pid, 'SIGSEGV'));\n");
    const r = loadWith({ MARS_FT_BINARY: variant('crash-at-exit', () => {}), TMPDIR: mkdtempSync(join(tmpdir(), 'mars-loader-cache-')), NODE_OPTIONS: `--require ${crash}` });
    expect(r.code).toBe('ok');
  });

  it('a test load killed by a signal before the binary loaded says so, and does not guess a LibTorch mismatch', () => {
    const why = explainFailure('some output\nits last line\n', 'SIGSEGV');
    expect(why).toBe('the test load was killed by SIGSEGV before the binary had loaded; its last output: its last line');
    expect(explainFailure('', 'SIGKILL')).toBe('the test load was killed by SIGKILL before the binary had loaded');
  });

  it('survives a corrupt binary: the test load fails in the child, not in the caller', () => {
    const r = loadWith({ MARS_FT_BINARY: variant('corrupt', () => {}, Buffer.from('\x7fELF this is not a shared object')) });
    expect(r.status).toBe(0);
    expect(r.code).toBe('ERR_NATIVE_LOAD');
    expect(r.message).toMatch(/test load failed|LibTorch/);
  });
});
