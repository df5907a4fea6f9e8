#!/usr/bin/env node
// Builds the addon for the LibTorch found here into
// prebuilds/<platform>-<arch>-torch<major.minor>-<cpu|cuXYZ>/, the folder the
// loader looks in, so that `npm pack` ships it. Run it once per LibTorch
// flavour (e.g. on a CUDA machine with a CUDA PyTorch for the cu variant).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibTorch, explainNotFound } from '../lib/native/find-libtorch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { found, tried } = findLibTorch();
if (!found) {
  console.error(explainNotFound(tried));
  process.exit(1);
}
const [major, minor] = (found.version ?? '0.0').split('.');
const flavour = found.cuda ? `cu${String(found.cuda).replace('.', '')}` : 'cpu';
const variant = `${process.platform}-${process.arch}-torch${major}.${minor}-${flavour}`;
const out = join(root, 'build-prebuild');
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--out', 'build-prebuild'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const target = join(root, 'prebuilds', variant);
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const f of ['mars_finetune.node', 'manifest.json']) copyFileSync(join(out, 'Release', f), join(target, f));
console.log(`prebuild ready: prebuilds/${variant}`);
