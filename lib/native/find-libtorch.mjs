#!/usr/bin/env node
// Finds the LibTorch to build against and to load at run time, in the order
// architecture.md gives: $LIBTORCH, then any python3 whose torch answers
// torch.utils.cmake_prefix_path, then the system (Debian's libtorch-dev).
// Plain JavaScript so that the install script can run it before anything is
// compiled; lib/native.ts imports it too, so there is one discovery (build:ts
// copies it to dist/; its types are in find-libtorch.d.mts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SYSTEM_CMAKE_DIRS = ['/usr/lib/x86_64-linux-gnu/cmake', '/usr/lib/aarch64-linux-gnu/cmake', '/usr/local/lib/cmake'];

function readVersion(torchCmakeDir, prefix) {
  const buildVersion = prefix && join(prefix, 'build-version');
  if (buildVersion && existsSync(buildVersion)) return readFileSync(buildVersion, 'utf8').trim().split('+')[0];
  const file = join(torchCmakeDir, 'TorchConfigVersion.cmake');
  const m = existsSync(file) && readFileSync(file, 'utf8').match(/PACKAGE_VERSION "([^"]+)"/);
  return m ? m[1] : null;
}

function readCxx11Abi(torchCmakeDir) {
  const file = join(torchCmakeDir, 'TorchConfig.cmake');
  const m = existsSync(file) && readFileSync(file, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
  return m ? m[1] === '1' : null;
}

function hasCuda(libDir) {
  return existsSync(libDir) && readdirSync(libDir).some((f) => f.startsWith('libtorch_cuda'));
}

/** Describes the LibTorch under a CMake prefix (the folder holding Torch/TorchConfig.cmake). */
function describe(source, cmakePrefix, libDir, extra = {}) {
  const torchCmakeDir = [join(cmakePrefix, 'Torch'), join(cmakePrefix, 'share', 'cmake', 'Torch')].find((d) =>
    existsSync(join(d, 'TorchConfig.cmake')),
  );
  if (!torchCmakeDir) return { source, ok: false, why: `no Torch/TorchConfig.cmake under ${cmakePrefix}` };
  if (!existsSync(libDir)) return { source, ok: false, why: `library folder ${libDir} does not exist` };
  // TorchConfig.cmake takes its install prefix four levels above itself.
  const installPrefix = resolve(torchCmakeDir, '..', '..', '..', '..');
  return {
    source,
    ok: true,
    cmakePrefix: resolve(torchCmakeDir, '..'),
    includeDirs: [join(installPrefix, 'include'), join(installPrefix, 'include', 'torch', 'csrc', 'api', 'include')],
    libDir,
    version: extra.version ?? readVersion(torchCmakeDir, extra.prefix),
    cuda: extra.cuda !== undefined ? extra.cuda : hasCuda(libDir) ? 'unknown' : null,
    cxx11Abi: extra.cxx11Abi ?? readCxx11Abi(torchCmakeDir),
    get abiFlag() {
      return this.cxx11Abi === false ? 0 : 1;
    },
    // c10d's Gloo backend compiles where Gloo's headers are (CMakeLists.txt decides the same way).
    get distributedDefines() {
      const gloo = [...this.includeDirs, '/usr/include'].some((d) => existsSync(join(d, 'gloo', 'config.h')));
      return gloo ? ['USE_C10D_GLOO', 'MARS_WITH_GLOO'] : [];
    },
  };
}

function fromEnv() {
  const dir = process.env.LIBTORCH;
  if (!dir) return { source: 'LIBTORCH', ok: false, why: 'LIBTORCH is not set' };
  const prefix = resolve(dir);
  return describe('LIBTORCH', join(prefix, 'share', 'cmake'), join(prefix, 'lib'), { prefix });
}

const PY_PROBE = [
  'import json, os, torch, torch.utils',
  'print(json.dumps({"cmake": torch.utils.cmake_prefix_path, "version": torch.__version__.split("+")[0],',
  ' "cuda": torch.version.cuda, "abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),',
  ' "lib": os.path.join(os.path.dirname(torch.__file__), "lib")}))',
].join('\n');

function fromPython(python) {
  let info;
  try {
    const out = execFileSync(python, ['-c', PY_PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    info = JSON.parse(out.trim().split('\n').pop());
  } catch {
    return { source: `python:${python}`, ok: false, why: `${python} has no importable torch` };
  }
  return describe(`python:${python}`, info.cmake, info.lib, { version: info.version, cuda: info.cuda, cxx11Abi: info.abi });
}

function fromSystem() {
  for (const dir of SYSTEM_CMAKE_DIRS) {
    if (existsSync(join(dir, 'Torch', 'TorchConfig.cmake'))) return describe('system', dir, resolve(dir, '..'));
  }
  return { source: 'system', ok: false, why: `no Torch/TorchConfig.cmake in ${SYSTEM_CMAKE_DIRS.join(', ')} (Debian: apt-get install libtorch-dev)` };
}

/**
 * Every candidate in order, each `{ source, ok, why }` or a description
 * `{ source, ok: true, cmakePrefix, libDir, version, cuda, cxx11Abi }`.
 * `python: false` skips the (slow) Python probes.
 */
export function libtorchCandidates({ python = true } = {}) {
  const candidates = [fromEnv()];
  if (python) {
    const pythons = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))];
    for (const p of pythons) candidates.push(fromPython(p));
  }
  candidates.push(fromSystem());
  return candidates;
}

/** The first usable LibTorch, or null; `tried` lists every candidate and why it was passed over. */
export function findLibTorch(options) {
  const tried = libtorchCandidates(options);
  return { found: tried.find((c) => c.ok) ?? null, tried };
}

/** The message for "none found": every candidate and why, then the fixes. */
export function explainNotFound(tried) {
  return [
    'LibTorch was not found. Tried, in order:',
    ...tried.map((c) => `  - ${c.source}: ${c.why}`),
    'Fix: set LIBTORCH to an unpacked LibTorch folder, or install PyTorch for python3,',
    'or on Debian/Ubuntu run `apt-get install libtorch-dev`.',
  ].join('\n');
}

// As a command: print the description as JSON, or one field of it
// (`--field includeDirs` prints one item per line, for binding.gyp).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { found, tried } = findLibTorch();
  if (!found) {
    console.error(explainNotFound(tried));
    process.exit(1);
  }
  const i = process.argv.indexOf('--field');
  if (i < 0) console.log(JSON.stringify(found, null, 2));
  else {
    const value = found[process.argv[i + 1]];
    console.log(Array.isArray(value) ? value.join('\n') : String(value));
  }
}
