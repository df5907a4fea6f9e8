#!/usr/bin/env node
// Builds the addon from source against the LibTorch that find-libtorch.mjs
// chooses, with cmake-js (default) or node-gyp (`--gyp`), and writes the build
// manifest next to the binary so the loader can check it at run time.
// `npx mars-ft build` runs this inside an installed package.
//   node scripts/build-native.mjs [--gyp] [--out DIR] [--debug] [--bench]
// --bench builds the projection benchmark's own addon (build-bench/, never shipped).
// The build tools are found the way Node finds modules (from the package up
// through every node_modules above it), wherever npm put them; the compiler's
// output streams through; any failure exits non-zero with its reason.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainNotFound, findLibTorch, variantOf } from '../lib/native/find-libtorch.mjs';
import { wheelCudaToolkit } from './cuda-toolkit.mjs';

export const NAPI_VERSION = 8;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INSTALL_TOOLS = 'install the build tools beside mars-finetune: `npm install --save-dev cmake-js node-addon-api`';
// The GPUs a CUDA build targets, in CMake's and LibTorch's notation: machine
// code for Turing, Ampere, Hopper and Blackwell (it runs on every GPU of the
// same major version: sm_80 code on an RTX 3090 or L4), plus PTX for later GPUs.
const CUDA_ARCHITECTURES = { cmake: '75-real;80-real;90-real;100-real;120', torch: '7.5;8.0;9.0;10.0;12.0+PTX' };

function fail(message) {
  console.error(`mars-finetune build failed: ${message}`);
  process.exit(1);
}

const requireHere = createRequire(join(root, 'package.json'));

/** Fails naming every build tool that module resolution from the package root cannot find. */
function requireTools(names) {
  const missing = names.filter((name) => {
    try {
      requireHere.resolve(`${name}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) fail(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed where Node can find ${missing.length > 1 ? 'them' : 'it'} from ${root}: ${INSTALL_TOOLS}`);
}

/** The file of a package's command, found by module resolution from the package root. */
function resolveBin(pkg, command) {
  const manifest = requireHere.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin[command]);
}

function run(command, args, env = {}) {
  console.error(`> ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) fail(`could not start ${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${r.signal ? `was killed by ${r.signal}` : `exited with status ${r.status}`} (its output is above)`);
}

/** The CMake settings that point a CUDA build at its toolkit: the wheels' beside torch, else CMake's own search. */
function cudaSettings(libtorch, out) {
  const toolkit = wheelCudaToolkit(libtorch, out);
  if (toolkit) {
    console.error(`CUDA toolkit: PyPI's wheels beside torch (${toolkit.root})`);
    return [`--CDCUDA_TOOLKIT_ROOT_DIR=${toolkit.root}`, `--CDCUDAToolkit_ROOT=${toolkit.root}`, `--CDCMAKE_CUDA_COMPILER=${toolkit.nvcc}`];
  }
  const nvcc = spawnSync('nvcc', ['--version']);
  if (!process.env.CUDA_HOME && (nvcc.error || nvcc.status !== 0)) {
    fail(`LibTorch ${libtorch.version} is built for CUDA ${libtorch.cuda}, and its build needs CUDA's compiler: install it beside torch (\`pip install "cuda-toolkit[nvcc,cccl,crt,cudart,nvvm]==${libtorch.cuda}.*"\`), or set CUDA_HOME to a CUDA ${libtorch.cuda} toolkit`);
  }
  return [];
}

/** Says, in one line, what a build without Gloo's headers leaves out (the build goes on). */
export function warnWithoutGloo(libtorch) {
  if (!libtorch.distributedDefines.includes('MARS_WITH_GLOO')) {
    console.error('mars-finetune build: Gloo\'s headers were not found, so this build leaves out distributed training on CPU; install libgloo-dev (Debian/Ubuntu) and build again to have it.');
  }
}

function requireCmake() {
  const r = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) fail('cmake is not on PATH: install it (Debian: `apt-get install cmake g++`; or `pip install cmake`)');
}

/** Writes `manifest.json` beside the binary, atomically. */
export function writeManifest(dir, libtorch, builder) {
  const manifest = {
    binary: 'mars_finetune.node',
    builder,
    platform: process.platform,
    arch: process.arch,
    napiVersion: NAPI_VERSION,
    variant: variantOf(libtorch),
    libtorch: {
      version: libtorch.version,
      cuda: libtorch.cuda,
      cxx11Abi: libtorch.cxx11Abi,
      libDir: libtorch.libDir,
      source: libtorch.source,
    },
    builtAt: new Date().toISOString(),
  };
  const file = join(dir, 'manifest.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
  return manifest;
}

/** Builds against `libtorch` (a find-libtorch description), or the one findLibTorch() chooses. */
export function build(argv, libtorch) {
  const gyp = argv.includes('--gyp');
  const debug = argv.includes('--debug');
  const bench = argv.includes('--bench');
  const outIndex = argv.indexOf('--out');
  const out = resolve(root, outIndex >= 0 ? argv[outIndex + 1] : bench ? 'build-bench' : 'build');
  const binary = bench ? 'mars_bench.node' : 'mars_finetune.node';
  const { found, tried } = libtorch ? { found: libtorch, tried: [] } : findLibTorch();
  if (!found) fail(explainNotFound(tried));
  console.error(`LibTorch ${found.version} (${found.cuda ? `CUDA ${found.cuda}` : 'CPU'}) from ${found.source}: ${found.cmakePrefix}`);
  requireTools([gyp ? 'node-gyp' : 'cmake-js', 'node-addon-api']);
  warnWithoutGloo(found);
  const jobs = String(Math.max(1, cpus().length));
  const include = resolve(requireHere('node-addon-api').include_dir);
  if (gyp) {
    // node-gyp always builds into ./build; --out is cmake-js only.
    run(process.execPath, [resolveBin('node-gyp', 'node-gyp'), 'rebuild', `--jobs=${jobs}`, ...(debug ? ['--debug'] : [])]);
  } else {
    requireCmake();
    const cuda = found.cuda ? [`--CDMARS_CUDA_ARCHITECTURES=${process.env.MARS_CUDA_ARCHITECTURES ?? CUDA_ARCHITECTURES.cmake}`, ...cudaSettings(found, out)] : [];
    run(process.execPath, [
      resolveBin('cmake-js', 'cmake-js'),
      'build',
      '--out', out,
      '--parallel', jobs,
      `--CDCMAKE_PREFIX_PATH=${found.cmakePrefix}`,
      // LibTorch's CMake files look for its libraries after the system's
      // folders: without this a wheel's headers would meet Debian's libtorch.so.
      `--CDCMAKE_LIBRARY_PATH=${found.libDir}`,
      `--CDNODE_ADDON_API_DIR=${include}`,
      ...cuda,
      ...(bench ? ['--CDMARS_BENCH=ON'] : []),
      ...(debug ? ['--debug'] : []),
    ], found.cuda && !process.env.TORCH_CUDA_ARCH_LIST ? { TORCH_CUDA_ARCH_LIST: CUDA_ARCHITECTURES.torch } : {});
  }
  const dir = join(gyp ? join(root, 'build') : out, debug ? 'Debug' : 'Release');
  if (!existsSync(join(dir, binary))) fail(`the build finished but ${join(dir, binary)} is missing`);
  if (bench) return console.error(`built ${join(dir, binary)}`);
  const manifest = writeManifest(dir, found, gyp ? 'node-gyp' : 'cmake-js');
  console.error(`built ${join(dir, binary)} for LibTorch ${manifest.libtorch.version} (${manifest.variant})`);
  return { dir, manifest };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) build(process.argv.slice(2));
