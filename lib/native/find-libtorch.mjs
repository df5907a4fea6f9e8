#!/usr/bin/env node
// Finds LibTorch, for the build and for the loader alike, in the order
// architecture.md gives: $LIBTORCH (when set, the only one considered), then
// the torch of each python3 (PYTHON, python3, /usr/bin/python3), then the
// system (Debian's libtorch-dev). Plain JavaScript so that the build scripts
// run it before anything is compiled; lib/native/loader.ts imports it too, so
// there is one discovery (build:ts copies it to dist/; types in find-libtorch.d.mts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SYSTEM_CMAKE_DIRS = ['/usr/lib/x86_64-linux-gnu/cmake', '/usr/lib/aarch64-linux-gnu/cmake', '/usr/local/lib/cmake'];

/** "2.11.0+cu130" -> { version: "2.11.0", cuda: "13.0" }; "+cpu" or no tag -> cuda null; undefined when untagged. */
function parseVersion(text) {
  const [version, tag] = text.trim().split('+');
  const cu = tag?.match(/^cu(\d+)(\d)$/);
  return { version, cuda: cu ? `${cu[1]}.${cu[2]}` : tag === 'cpu' ? null : undefined };
}

function readVersion(torchCmakeDir, prefix) {
  const buildVersion = prefix && join(prefix, 'build-version');
  if (buildVersion && existsSync(buildVersion)) return parseVersion(readFileSync(buildVersion, 'utf8'));
  const file = join(torchCmakeDir, 'TorchConfigVersion.cmake');
  const m = existsSync(file) && readFileSync(file, 'utf8').match(/PACKAGE_VERSION "([^"]+)"/);
  return m ? parseVersion(m[1]) : { version: null, cuda: undefined };
}

/**
 * Whether LibTorch uses the C++11 ABI of libstdc++: libc10's exported names
 * mention std::__cxx11 exactly when it does (what the binary is, whatever its
 * CMake files say; PyTorch 2.8+ no longer writes the flag into TorchConfig.cmake).
 */
function readCxx11Abi(libDir, torchCmakeDir) {
  const c10 = libraryFile(libDir, 'libc10');
  if (c10) return readFileSync(c10).includes('St7__cxx11');
  const file = join(torchCmakeDir, 'TorchConfig.cmake');
  const m = existsSync(file) && readFileSync(file, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=([01])/);
  return m ? m[1] === '1' : null;
}

/** `lib<name>.so` in the folder, else its first versioned file (`lib<name>.so.1.13`), else null. */
export function libraryFile(libDir, name) {
  const plain = join(libDir, `${name}.so`);
  if (existsSync(plain)) return plain;
  const versioned = existsSync(libDir) ? readdirSync(libDir).filter((f) => f.startsWith(`${name}.so.`)).sort() : [];
  return versioned.length ? join(libDir, versioned[0]) : null;
}

/** The libraries that make up a LibTorch, in load order (each after what it needs). */
export function libtorchLibraries(libtorch) {
  const names = ['libc10', 'libtorch_cpu', ...(libtorch.cuda ? ['libc10_cuda', 'libtorch_cuda'] : []), 'libtorch'];
  return names.map((n) => libraryFile(libtorch.libDir, n)).filter(Boolean);
}

/** 'cpu', 'cu130' (CUDA 13.0) or 'cuda' (CUDA of unknown version): the flavour part of a variant's name. */
export function flavourOf(cuda) {
  if (!cuda) return 'cpu';
  const m = String(cuda).match(/^(\d+)\.(\d+)/);
  return m ? `cu${m[1]}${m[2]}` : 'cuda';
}

/** `<platform>-<arch>-torch<major.minor>-<cpu|cuXYZ>`: the name of the variant built for this LibTorch. */
export function variantOf(libtorch, platform = process.platform, arch = process.arch) {
  const [major, minor] = (libtorch.version ?? '0.0').split('.');
  return `${platform}-${arch}-torch${major}.${minor}-${flavourOf(libtorch.cuda)}`;
}

/** Describes the LibTorch under a CMake prefix (the folder holding Torch/TorchConfig.cmake). */
function describe(source, cmakePrefix, libDir, extra = {}) {
  const torchCmakeDir = [join(cmakePrefix, 'Torch'), join(cmakePrefix, 'share', 'cmake', 'Torch')].find((d) =>
    existsSync(join(d, 'TorchConfig.cmake')),
  );
  if (!torchCmakeDir) return { source, ok: false, why: `no Torch/TorchConfig.cmake under ${cmakePrefix}` };
  if (!libraryFile(libDir, 'libtorch')) return { source, ok: false, why: `no libtorch.so in ${libDir}` };
  // TorchConfig.cmake takes its install prefix four levels above itself.
  const installPrefix = resolve(torchCmakeDir, '..', '..', '..', '..');
  const read = extra.version ? { version: extra.version, cuda: extra.cuda } : readVersion(torchCmakeDir, extra.prefix);
  const cudaLib = libraryFile(libDir, 'libtorch_cuda');
  return {
    source,
    ok: true,
    cmakePrefix: resolve(torchCmakeDir, '..'),
    includeDirs: [join(installPrefix, 'include'), join(installPrefix, 'include', 'torch', 'csrc', 'api', 'include')],
    libDir,
    version: read.version,
    // A tag or PyTorch's own record wins; otherwise the presence of libtorch_cuda says CUDA of unknown version.
    cuda: read.cuda !== undefined ? read.cuda : cudaLib ? 'unknown' : null,
    cxx11Abi: readCxx11Abi(libDir, torchCmakeDir),
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

function fromEnv(dir) {
  const prefix = resolve(dir);
  return describe(`LIBTORCH=${dir}`, join(prefix, 'share', 'cmake'), join(prefix, 'lib'), { prefix });
}

// Finds torch's folder without importing it (an import loads all of LibTorch: seconds).
const PY_PROBE = 'import importlib.util as u; s = u.find_spec("torch"); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else "")';

/** The LibTorch inside the torch package of one Python interpreter. */
export function libtorchOfPython(python) {
  const source = `python3 torch (${python})`;
  let dir;
  try {
    dir = execFileSync(python, ['-c', PY_PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return { source, ok: false, why: `${python} did not run` };
  }
  if (!dir) return { source, ok: false, why: `${python} has no torch` };
  return fromTorchPackage(source, dir);
}

/** The LibTorch inside a PyTorch package folder (site-packages/torch). */
function fromTorchPackage(source, dir) {
  const versionFile = join(dir, 'version.py');
  const text = existsSync(versionFile) ? readFileSync(versionFile, 'utf8') : '';
  const version = text.match(/^__version__\s*=\s*['"]([^'"]+)['"]/m);
  const cuda = text.match(/^cuda\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)/m);
  const found = describe(source, join(dir, 'share', 'cmake'), join(dir, 'lib'), {
    version: version ? parseVersion(version[1]).version : null,
    cuda: cuda ? (cuda[1] ?? null) : undefined,
  });
  // Debian's python3-torch has no LibTorch of its own: it runs on the system's.
  if (!found.ok) found.why = `torch at ${dir} carries no LibTorch (${found.why})`;
  return found;
}

function fromSystem() {
  for (const dir of SYSTEM_CMAKE_DIRS) {
    if (existsSync(join(dir, 'Torch', 'TorchConfig.cmake'))) return describe('system', dir, resolve(dir, '..'));
  }
  return { source: 'system', ok: false, why: `no Torch/TorchConfig.cmake in ${SYSTEM_CMAKE_DIRS.join(', ')}` };
}

/**
 * The LibTorch a build's manifest names (its `source` and `libDir`), described
 * afresh from what is on disk now, without running any Python; a refusal when
 * it is no longer there.
 */
export function libtorchOfBuild({ source, libDir }) {
  if (source === 'system') return fromSystem();
  if (source.startsWith('LIBTORCH=')) return fromEnv(source.slice('LIBTORCH='.length));
  if (source.startsWith('python3 torch') && existsSync(libDir)) return fromTorchPackage(source, resolve(libDir, '..'));
  return { source, ok: false, why: `${libDir} is gone` };
}

/** The Python interpreters asked, in order, without duplicates. */
export function pythons() {
  return [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))];
}

/**
 * Every candidate in order, each `{ source, ok: false, why }` or a description
 * `{ source, ok: true, cmakePrefix, libDir, version, cuda, cxx11Abi }`. When
 * LIBTORCH is set it is the only candidate: the user chose it, at build time
 * and at run time alike.
 */
export function libtorchCandidates() {
  if (process.env.LIBTORCH) return [fromEnv(process.env.LIBTORCH)];
  return [...pythons().map(libtorchOfPython), fromSystem()];
}

/** The first usable LibTorch, or null; `tried` lists every candidate and why it was passed over. */
export function findLibTorch() {
  const tried = libtorchCandidates();
  return { found: tried.find((c) => c.ok) ?? null, tried };
}

/** What to do when no LibTorch is found: the three ways to get one. */
export const INSTALL_LIBTORCH = [
  'Install LibTorch one of three ways:',
  '  - Debian/Ubuntu: `apt-get install libtorch-dev` (LibTorch 1.13, CPU);',
  '  - PyTorch for python3 (`pip install torch`; its own LibTorch is used, CPU or CUDA; PYTHON=/path/to/python picks the interpreter);',
  '  - an unpacked LibTorch from pytorch.org: set LIBTORCH to its folder (the one holding lib/ and share/cmake/).',
].join('\n');

/** The message for "none found": every candidate and why, then the fixes. */
export function explainNotFound(tried) {
  return ['LibTorch was not found. Tried, in order:', ...tried.map((c) => `  - ${c.source}: ${c.why}`), INSTALL_LIBTORCH].join('\n');
}

// As a command: print the description as JSON, or one field of it
// (`--field includeDirs` prints one item per line, for binding.gyp; `--field variant`
// the variant package's name).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { found, tried } = findLibTorch();
  if (!found) {
    console.error(explainNotFound(tried));
    process.exit(1);
  }
  const i = process.argv.indexOf('--field');
  if (i < 0) console.log(JSON.stringify({ ...found, variant: variantOf(found) }, null, 2));
  else {
    const field = process.argv[i + 1];
    const value = field === 'variant' ? variantOf(found) : found[field];
    console.log(Array.isArray(value) ? value.join('\n') : String(value));
  }
}
