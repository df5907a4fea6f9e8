#!/usr/bin/env node
// Runs at `npm install`. In a published package (dist/ present): keep a
// prebuilt binary when one loads here, else build from source; if that fails
// too, warn and let the loader explain at first use (an install that fails
// hard helps nobody debug). In a development checkout (no dist/ yet) it does
// nothing: `npm run build` builds everything.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'index.js');

async function loads() {
  try {
    const { runtimeInfo } = await import(pathToFileURL(entry).href);
    const info = runtimeInfo();
    console.log(`mars-finetune: native addon ready (LibTorch ${info.libtorchVersion}${info.builtWithCuda ? ', CUDA' : ', CPU'})`);
    return true;
  } catch (e) {
    console.warn(`mars-finetune: no usable prebuilt binary:\n${e.message}`);
    return false;
  }
}

if (existsSync(entry) && !(await loads())) {
  console.warn('mars-finetune: building the native addon from source...');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.warn('mars-finetune: the source build failed; the package will explain what is missing when first used.');
}
