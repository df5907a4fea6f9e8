#!/usr/bin/env bash
# GPU smoke check of distributed training (NCCL), on a machine with an NVIDIA
# GPU, PyTorch 2.x with CUDA, cmake and ninja; Node travels in .devcarry/
# (as for run.sh), with dist/ and node_modules/{node-addon-api,node-api-headers,zod}.
#  1. builds the addon against that CUDA LibTorch, with c10d's NCCL backend
#     (nccl.h from the wheel's nvidia/ packages) and Gloo where its headers are;
#  2. runs scripts/gpu-check/distributed.mjs with it.
# Logs and JSON go to $OUT. Expected: about 3 minutes to build, under a minute to run.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
# nccl.h ships in the nvidia-nccl wheel beside torch; its folder name varies with the CUDA major.
nccl=$(python3 -c 'import glob, os, torch; r = os.path.dirname(os.path.dirname(torch.__file__)); print(os.path.dirname((glob.glob(r + "/nvidia/**/include/nccl.h", recursive=True) + ["/usr/include/nccl.h"])[0]))')
echo "== build against $prefix (nccl.h in $nccl)"
start=$(date +%s)
cmake -S . -B /tmp/bdist -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DMARS_NCCL_INCLUDE_DIR="$nccl" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" > "$OUT/cmake-distributed.log" 2>&1 \
  && cmake --build /tmp/bdist -j 16 >> "$OUT/cmake-distributed.log" 2>&1
build=$?
echo "build exit $build in $(( $(date +%s) - start )) s"; grep -E "error|Gloo|nccl" "$OUT/cmake-distributed.log" | head -20
[ $build -eq 0 ] || exit 1
node --input-type=module -e "
  import { findLibTorch } from './lib/native/find-libtorch.mjs';
  import { writeManifest } from './scripts/build-native.mjs';
  writeManifest('/tmp/bdist', findLibTorch().found, 'cmake');" || exit 1
MARS_FT_BINARY=/tmp/bdist/mars_finetune.node timeout 300 node scripts/gpu-check/distributed.mjs 2>&1 | tee "$OUT/distributed.json"
echo "distributed check exit ${PIPESTATUS[0]}"
