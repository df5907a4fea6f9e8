/** `mars-ft build`: builds the native addon from source for the LibTorch found here, then test-loads it. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MarsError } from '../errors.js';
import { packageRoot } from '../native/loader.js';

export const buildHelp = `mars-ft build [--debug]

Builds the native addon from source against the LibTorch found here (LIBTORCH
when set, else python3's torch, else the system's) into the package's own
build/Release, the first place the loader looks. Use it when no prebuilt
variant fits your LibTorch. It needs cmake, a C++17 compiler (and CUDA's nvcc
for a CUDA LibTorch) and the build tools beside the package, found the way
Node finds modules:

  npm install --save-dev cmake-js node-addon-api

The compiler's output streams to the terminal. The build is then loaded in a
fresh process; the command succeeds only if that load works.`;

export async function build(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { debug: { type: 'boolean', default: false } } });
  const script = join(packageRoot, 'scripts', 'build-native.mjs');
  const r = spawnSync(process.execPath, [script, ...(values.debug ? ['--debug'] : [])], { stdio: 'inherit' });
  if (r.error) throw new MarsError('ERR_BUILD', `could not run ${script}: ${r.error.message}`);
  if (r.status !== 0) throw new MarsError('ERR_BUILD', 'the build failed; the reason is printed above');
  // A fresh process loads what was built (the loader's own test load included).
  const entry = pathToFileURL(join(packageRoot, 'dist', 'index.js')).href;
  const check = `const { runtimeInfo } = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(runtimeInfo().binary));`;
  const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', check], { encoding: 'utf8' });
  if (loaded.status !== 0) throw new MarsError('ERR_NATIVE_LOAD', `the build does not load:\n${loaded.stderr.trim()}`);
  const binary = JSON.parse(loaded.stdout) as { origin: string; path: string; libtorch: { version: string; libDir: string } };
  if (binary.origin !== 'local build') {
    throw new MarsError('ERR_NATIVE_LOAD', `the build was refused; the loader uses ${binary.origin} instead (run any mars-ft command with MARS_FT_BINARY=${join(packageRoot, 'build', values.debug ? 'Debug' : 'Release', 'mars_finetune.node')} to see why)`);
  }
  process.stdout.write(`mars-finetune: built and loaded ${binary.path} on LibTorch ${binary.libtorch.version} (${binary.libtorch.libDir})\n`);
}
