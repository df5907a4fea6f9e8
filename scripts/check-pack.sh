#!/usr/bin/env bash
# Packs the package with a prebuild for the LibTorch found here, installs the
# tarball into an empty project with every compiler and cmake masked by stubs
# that fail (and record that they were called), and checks that it loads the
# prebuild and runs the embedded backbone. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
node scripts/prebuild.mjs
tarball=$(npm pack --silent | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work" "$root/$tarball" "$root/prebuilds" "$root/build-prebuild"' EXIT
mkdir -p "$work/app" "$work/stubs"
for tool in cc gcc g++ c++ clang clang++ cmake make ninja; do
  printf '#!/bin/sh\necho "%s was called" >> "%s/called"\nexit 1\n' "$tool" "$work" > "$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
done
export PATH="$work/stubs:$PATH" CC=false CXX=false
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --foreground-scripts "$root/$tarball" 2>&1 | grep -E "mars-finetune:|added|ERR" || true
if [ -e "$work/called" ]; then echo "a compiler was needed:"; cat "$work/called"; exit 1; fi
node --input-type=module -e "
  import { runtimeInfo, load, tensor } from 'mars-finetune';
  import { createRequire } from 'node:module';
  const info = runtimeInfo();
  const dir = createRequire(import.meta.url).resolve('mars-finetune').replace(/dist\/index\.js$/, '');
  const net = await load(dir + 'assets/backbone.pt');
  const out = await net.forward(tensor(new Float32Array(2 * 28 * 28), [2, 1, 28, 28]));
  console.log('installed package works: LibTorch', info.libtorchVersion, 'output', JSON.stringify(out.shape));
"
test -d "$work/app/node_modules/mars-finetune/prebuilds" && test ! -e "$work/app/node_modules/mars-finetune/build" \
  && echo "it loaded the shipped prebuild (no local build exists)"
