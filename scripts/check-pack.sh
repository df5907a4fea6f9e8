#!/usr/bin/env bash
# Installs the release tarballs as a user would and checks that they work with
# no compiler: into an empty project, with npm's default settings,
#   npm install ./pack/mars-finetune-<version>.tgz ./pack/mars-finetune-<variant>-<version>.tgz
# (the main package and the variant for the LibTorch found here) while cc,
# gcc, g++, clang, cmake, make and ninja are stubs that fail and record that
# they were called; then `mars-ft --version`, `mars-ft inspect` on a
# TorchScript network drawn at random just now (scripts/unseen-net.py), a short
# `mars-ft finetune` of it on the embedded target set, and that the variant
# package is the binary that loaded. Run after `npm run pack:all`.
#   bash scripts/check-pack.sh                  Debian's LibTorch: the CPU variant
#   bash scripts/check-pack.sh --python PYTHON  a virtual environment's torch, as a
#       user who activated it has it (its bin/ first on PATH): with PyPI's torch
#       2.11, the cu130 variant, which must also report CUDA built in and not
#       available here, and refuse `--device cuda` with ERR_DEVICE
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=/usr/bin/python3
if [ "${1:-}" = --python ]; then
  python=${2:?--python needs an interpreter}
  export PATH="$(dirname "$python"):$PATH"
fi
version=$(node -p "require('./package.json').version")
variant=$(node lib/native/find-libtorch.mjs --field variant)
echo "== the LibTorch found: $variant"
main="$root/pack/mars-finetune-$version.tgz"
prebuilt="$root/pack/mars-finetune-$variant-$version.tgz"
for f in "$main" "$prebuilt"; do
  [ -f "$f" ] || { echo "missing $f: run npm run pack:all first" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/app" "$work/stubs"
for tool in cc gcc g++ c++ clang clang++ cmake make ninja nvcc; do
  printf '#!/bin/sh\necho "%s was called" >> "%s/called"\nexit 1\n' "$tool" "$work" > "$work/stubs/$tool"
  chmod +x "$work/stubs/$tool"
done
export PATH="$work/stubs:$PATH" CC=false CXX=false

cd "$work/app"
npm init -y >/dev/null
echo "== the main package alone has no binary: the loader names the variant to install"
npm install --no-audit --no-fund "$main"
if out=$(npx mars-ft inspect "$root/assets/backbone.pt" 2>&1); then echo "it loaded without a binary?"; exit 1; fi
grep -F "npm install @mars-finetune/$variant@$version" <<<"$out" || { echo "$out"; exit 1; }

echo "== npm install $(basename "$main") $(basename "$prebuilt")"
npm install --no-audit --no-fund "$main" "$prebuilt"
if [ -e "$work/called" ]; then echo "a compiler was needed:"; cat "$work/called"; exit 1; fi

echo "== npx mars-ft --version"
[ "$(npx mars-ft --version)" = "$version" ]

echo "== npx mars-ft inspect on a network drawn just now"
"$python" "$root/scripts/unseen-net.py" "$work/unseen.pt"
npx mars-ft inspect "$work/unseen.pt" | tail -n 1

echo "== npx mars-ft finetune (short)"
target="$work/app/node_modules/mars-finetune/assets/target"
npx mars-ft finetune --backbone "$work/unseen.pt" \
  --train "idx:$target/train-images.idx.gz,$target/train-labels.idx.gz" \
  --test "idx:$target/test-images.idx.gz,$target/test-labels.idx.gz" \
  --per-class 20 --epochs 2 --batch-size 25 --lr 0.001 --out "$work/run" --json > "$work/summary.json"
node -e "
  const s = require('$work/summary.json');
  if (!(s.testAccuracy >= 0 && s.testAccuracy <= 1)) throw new Error('no test accuracy in the summary');
  console.log('finetune: test accuracy', s.testAccuracy, 'after', s.epochs, 'epochs');"
test -s "$work/run/model.pt"

echo "== the prebuilt variant is what loaded"
node --input-type=module -e "
  import { runtimeInfo } from 'mars-finetune';
  const { binary, libtorchVersion, builtWithCuda, cudaAvailable } = runtimeInfo();
  if (binary.origin !== '@mars-finetune/$variant') throw new Error('loaded ' + binary.origin + ', not the variant package');
  if (builtWithCuda !== '$variant'.includes('-cu')) throw new Error('builtWithCuda is ' + builtWithCuda + ' in $variant');
  console.log('loaded', binary.origin, 'on LibTorch', libtorchVersion, 'from', binary.libtorch.libDir, '; CUDA built in:', builtWithCuda, ', available:', cudaAvailable);"

if [[ $variant == *-cu* ]] && [ "$(node --input-type=module -e "import { runtimeInfo } from 'mars-finetune'; console.log(runtimeInfo().cudaAvailable)")" = false ]; then
  echo "== --device cuda without a GPU: ERR_DEVICE, saying why"
  if out=$(npx mars-ft finetune --backbone "$work/unseen.pt" --train "idx:$target/train-images.idx.gz,$target/train-labels.idx.gz" \
      --per-class 5 --epochs 1 --device cuda --out "$work/run-cuda" 2>&1); then echo "--device cuda ran without a GPU?"; exit 1; fi
  grep -F "ERR_DEVICE" <<<"$out" && grep -qiE "no (NVIDIA )?GPU|driver" <<<"$out" || { echo "$out"; exit 1; }
fi
test ! -e "$work/app/node_modules/mars-finetune/build"
if [ -e "$work/called" ]; then echo "a compiler was called:"; cat "$work/called"; exit 1; fi
echo "check-pack: the installed tarballs work without a compiler"
