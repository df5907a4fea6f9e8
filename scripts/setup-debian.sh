#!/usr/bin/env bash
# Sets up a Debian 12 machine for mars-finetune from a checkout: system
# packages (LibTorch, PyTorch for the test fixtures, Fashion-MNIST, the build
# tools, libjpeg-turbo and libpng for the native image path; for the tests also crcmod, which checks event files, and Chromium,
# which loads the HTML report), the npm packages, and the build (native addon
# + TypeScript).
# Needs Node.js >= 20.17 (Debian's own nodejs is too old; use the NodeSource
# or nodejs.org build). Runs apt through sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=17)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "mars-finetune needs Node.js >= 20.17 (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q \
  libtorch-dev python3-torch python3-torchvision python3-numpy dataset-fashion-mnist python3-crcmod chromium \
  libturbojpeg0-dev libpng-dev \
  cmake ninja-build g++ make

npm ci --no-audit --no-fund
npm run build
