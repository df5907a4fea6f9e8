#!/usr/bin/env node
// Builds the addon from source against the LibTorch that find-libtorch.mjs
// chooses, with cmake-js (default) or node-gyp (`--gyp`), and writes the build
// manifest next to the binary so the loader can check it at run time.
//   node scripts/build-native.mjs [--gyp] [--out DIR] [--debug] [--bench]
// --bench builds the projection benchmark's own addon (build-bench/, never shipped).
import { spawnSync } from 'node:child_process';
import { writeFileSync, renameSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibTorch, explainNotFound } from '../lib/native/find-libtorch.mjs';

export const NAPI_VERSION = 8;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args, env) {
  console.error(`> ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`build failed: ${command} exited with ${r.status ?? r.signal}`);
    process.exit(1);
  }
}

/** Writes `manifest.json` beside the binary, atomically. */
export function writeManifest(dir, libtorch, builder) {
  const manifest = {
    binary: 'mars_finetune.node',
    builder,
    platform: process.platform,
    arch: process.arch,
    napiVersion: NAPI_VERSION,
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

function main(argv) {
  const gyp = argv.includes('--gyp');
  const debug = argv.includes('--debug');
  const bench = argv.includes('--bench');
  const outIndex = argv.indexOf('--out');
  const out = resolve(root, outIndex >= 0 ? argv[outIndex + 1] : bench ? 'build-bench' : 'build');
  const binary = bench ? 'mars_bench.node' : 'mars_finetune.node';
  const { found, tried } = findLibTorch();
  if (!found) {
    console.error(explainNotFound(tried));
    process.exit(1);
  }
  console.error(`LibTorch ${found.version} (${found.cuda ? `CUDA ${found.cuda}` : 'CPU'}) from ${found.source}: ${found.cmakePrefix}`);
  const jobs = String(Math.max(1, cpus().length));
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  if (gyp) {
    // node-gyp always builds into ./build; --out is cmake-js only.
    run(bin('node-gyp'), ['rebuild', `--jobs=${jobs}`, ...(debug ? ['--debug'] : [])]);
  } else {
    run(bin('cmake-js'), [
      'build',
      '--out', out,
      '--parallel', jobs,
      `--CDCMAKE_PREFIX_PATH=${found.cmakePrefix}`,
      ...(bench ? ['--CDMARS_BENCH=ON'] : []),
      ...(debug ? ['--debug'] : []),
    ]);
  }
  const dir = join(gyp ? join(root, 'build') : out, debug ? 'Debug' : 'Release');
  if (!existsSync(join(dir, binary))) {
    console.error(`build finished but ${dir}/${binary} is missing`);
    process.exit(1);
  }
  if (bench) return console.error(`built ${join(dir, binary)}`);
  const manifest = writeManifest(dir, found, gyp ? 'node-gyp' : 'cmake-js');
  console.error(`built ${join(dir, binary)} for LibTorch ${manifest.libtorch.version}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
