#!/usr/bin/env bash
# The whole test suite against PyPI's LibTorch 2.11 (the CUDA 13.0 build, run
# on the CPU; no GPU needed), with the PyTorch oracles and fixtures from the
# same torch 2.11: makes or reuses its environment (scripts/setup-torch2.sh),
# builds the cu130 addon where `npm run pack:all` builds it
# (build-variant/<variant>/, so the release packs the binary tested here
# without building it again), then runs vitest with that binary and that
# Python. `npm test` runs the same suite on Debian's 1.13.
#   bash scripts/test-torch2.sh [vitest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(bash scripts/setup-torch2.sh | tail -n 1)
# PYTHON puts torch 2.11 first in LibTorch discovery, for the build and for
# the binary MARS_FT_BINARY names (tests of the discovery itself unset both).
export PYTHON="$python"
build="build-variant/$(node lib/native/find-libtorch.mjs --field variant)"
node scripts/build-native.mjs --out "$build"
export MARS_FT_TEST_PYTHON="$python" MARS_FT_BINARY="$PWD/$build/Release/mars_finetune.node"
npx vitest run "$@"
