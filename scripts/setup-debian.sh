#!/usr/bin/env bash
# Sets up a Debian 12 machine for mars-finetune from a checkout, with
# everything the build and the tests use:
#  - LibTorch (libtorch-dev) with Gloo's headers (libgloo-dev: distributed
#    training on CPU), the build tools, libjpeg-turbo and libpng for the
#    native image path;
#  - for the tests' PyTorch oracles and fixtures: python3-torch,
#    python3-torchvision, numpy, fontTools (the source-set generator),
#    crcmod (checks TensorBoard event files); Chromium (loads the HTML
#    report); Fashion-MNIST; python3-venv (scripts/setup-torch2.sh);
#  - the npm packages, and the build (native addon + TypeScript).
# Needs Node.js >= 20.19 (Debian's own nodejs is too old; use the NodeSource
# or nodejs.org build). Runs apt through sudo when not root.
# scripts/clean-room.sh proves on a fresh Debian root that this is enough.
set -euo pipefail
cd "$(dirname "$0")/.."

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "mars-finetune needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q \
  libtorch-dev libgloo-dev python3-torch python3-torchvision python3-numpy python3-fonttools python3-crcmod python3-venv \
  dataset-fashion-mnist chromium libturbojpeg0-dev libpng-dev \
  cmake ninja-build g++ make git

npm ci --no-audit --no-fund
npm run build
