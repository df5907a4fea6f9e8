#!/usr/bin/env bash
# The one GPU check of a session, on a machine with an NVIDIA GPU, PyTorch 2.x
# with CUDA, cmake and ninja (no Node: a compressed node binary travels in
# .devcarry/, with node_modules/{node-addon-api,node-api-headers,zod} and dist/).
#  1. builds the addon against that CUDA LibTorch (the .cu kernels included);
#  2. runs scripts/gpu-check/addon.mjs with it (cuda vs cpu, MARS-SP steps);
#  3. runs scripts/gpu-check/check.py (the projection kernels as a PyTorch extension).
# Logs and JSON go to $OUT.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
echo "== build against $prefix"
start=$(date +%s)
cmake -S . -B /tmp/bcuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" > "$OUT/cmake.log" 2>&1 \
  && cmake --build /tmp/bcuda -j 16 >> "$OUT/cmake.log" 2>&1
build=$?
echo "build exit $build in $(( $(date +%s) - start )) s"; tail -5 "$OUT/cmake.log"
if [ $build -eq 0 ]; then
  node --input-type=module -e "
    import { findLibTorch } from './lib/find-libtorch.mjs';
    import { writeManifest } from './scripts/build-native.mjs';
    writeManifest('/tmp/bcuda', findLibTorch().found, 'cmake');" && \
  MARS_FT_BINARY=/tmp/bcuda/mars_finetune.node timeout 300 node scripts/gpu-check/addon.mjs 2>&1 | tee "$OUT/addon.json"
  echo "addon check exit ${PIPESTATUS[0]}"
fi
echo "== projection kernels"
timeout 300 python3 scripts/gpu-check/check.py 2>&1 | tail -40 | tee "$OUT/kernels.txt"
