// `mars-ft build` in an installed package: it finds cmake-js and
// node-addon-api by module resolution wherever npm put them (here hoisted to
// the project's node_modules, as npm does), lets the build's own output
// through, and fails loudly with the reason: never success without a binary.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';
import { runtimeInfo } from '../lib/index.js';
import semver from 'semver';

const project = mkdtempSync(join(tmpdir(), 'mars-build-'));
const installed = join(project, 'node_modules', 'mars-finetune');
const stubs = join(project, 'stubs');

/** Runs the installed package's CLI in the project with PATH and extra env. */
function mft(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(installed, 'dist', 'cli', 'main.js'), ...args], {
    cwd: project, encoding: 'utf8', env: { ...process.env, NODE_PATH: '', LIBTORCH: '', ...env }, timeout: 300_000,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

beforeAll(() => {
  // What npm unpacks from the tarball (package.json's `files`), and the runtime dependencies beside it.
  mkdirSync(installed, { recursive: true });
  const { files, dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
  for (const f of ['package.json', ...files]) cpSync(join(ROOT, f), join(installed, f), { recursive: true });
  for (const dep of Object.keys(dependencies)) {
    mkdirSync(dirname(join(project, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
  }
  mkdirSync(stubs);
  for (const tool of ['cc', 'c++', 'g++', 'gcc']) writeFileSync(join(stubs, tool), '#!/bin/sh\necho "stub compiler refuses" >&2\nexit 1\n', { mode: 0o755 });
});

describe('mars-ft build', () => {
  it('without the build tools, names them and how to install them', () => {
    const r = mft(['build'], {});
    expect(r.status).toBe(1);
    expect(r.output).toContain('cmake-js and node-addon-api are not installed where Node can find them');
    expect(r.output).toContain('npm install --save-dev cmake-js node-addon-api');
    expect(r.output).toContain('[ERR_BUILD]');
  });

  it('without cmake on PATH, says so', () => {
    for (const dep of ['cmake-js', 'node-addon-api']) symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
    const nodeOnly = join(project, 'node-only');
    mkdirSync(nodeOnly);
    symlinkSync(process.execPath, join(nodeOnly, 'node'));
    const r = mft(['build'], { PATH: `${stubs}:${nodeOnly}` });
    expect(r.status).toBe(1);
    expect(r.output).toContain('cmake is not on PATH');
  });

  it('finds hoisted tools, streams the failing compiler, exits non-zero and leaves no binary', () => {
    const r = mft(['build'], { PATH: `${stubs}:${process.env.PATH}`, CC: join(stubs, 'cc'), CXX: join(stubs, 'c++') });
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/cmake-js/); // the tool was found and ran
    expect(r.output).toMatch(/CMAKE_CXX_COMPILER|CXX compiler|stub compiler refuses/); // its own output came through
    expect(r.output).toContain('mars-finetune build failed');
    expect(r.output).toContain('[ERR_BUILD]');
    const load = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(join(installed, 'dist', 'index.js'))}).then((m) => m.runtimeInfo())`], { cwd: project, encoding: 'utf8', env: { ...process.env, MARS_FT_BINARY: '' } });
    expect(load.status).not.toBe(0);
  });
});

describe('what a build leaves out', () => {
  it('a LibTorch without Gloo\'s headers: one line naming the package to install', () => {
    const warn = (defines: string[]) => spawnSync(process.execPath, ['--input-type=module', '-e',
      `const { warnWithoutGloo } = await import(${JSON.stringify(join(ROOT, 'scripts', 'build-native.mjs'))}); warnWithoutGloo({ distributedDefines: ${JSON.stringify(defines)} });`,
    ], { encoding: 'utf8' }).stderr;
    expect(warn([]).trim().split('\n')).toEqual([expect.stringMatching(/leaves out distributed training on CPU; install libgloo-dev/)]);
    expect(warn(['USE_C10D_GLOO', 'MARS_WITH_GLOO'])).toBe('');
  });

  it('the build the tests run on has Gloo (scripts/setup-debian.sh installs its headers)', () => {
    expect(runtimeInfo().distributedBackends).toContain('gloo');
  });
});

describe('the install', () => {
  it('every runtime dependency accepts the oldest Node.js the package promises', () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const oldest = semver.minVersion(root.engines.node)!.version;
    // npm's own list of the production tree, every level, as folders.
    const folders = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim().split('\n').slice(1);
    expect(folders.length).toBeGreaterThan(20);
    const refused = folders.flatMap((folder) => {
      const { name, version, engines } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } };
      return engines?.node && !semver.satisfies(oldest, engines.node) ? [`${name}@${version} needs node ${engines.node}`] : [];
    });
    expect(refused, `the package promises node ${root.engines.node}`).toEqual([]);
  });
});
