#!/usr/bin/env bash
# The CUDA variant, checked where it can be: a machine with an NVIDIA GPU,
# PyTorch 2.11 with CUDA 13.0 for its python3, and no network. The variant
# is the one CI builds and tests on CPU machines (npm run pack:all), carried
# here by prepare.sh, so what is checked is exactly what users install.
# From the repository root, after scripts/gpu-release/prepare.sh made
# .devcarry/gpu-release/ (main and variant tarballs, npm cache, npm):
#   NODE_DIR=/path/to/node OUT=/path/to/results bash scripts/gpu-release/run.sh
# (without NODE_DIR, the node.xz that `prepare.sh --with-node` carried)
#  1. installs the carried main tarball and the variant for python3's
#     LibTorch into an empty project, offline, with npm's default settings
#     and every compiler a failing stub;
#  2. runs check.mjs there (its header says what it compares).
# Writes to OUT: gpu-release.json (every check and figure), machine.json and
# run.log. Ends within about 9 minutes.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-release}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
repo=$(cd "$(dirname "$0")/../.." && pwd)
carry="$repo/.devcarry/gpu-release"
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
stage() { echo "== $1 ($(elapsed) s)"; }
fail() { echo "gpu-release: $1"; exit 1; }

[ -d "$carry/npm-cache" ] || fail "$carry is missing: run scripts/gpu-release/prepare.sh where the npm registry is reachable, and carry .devcarry"
if [ -z "${NODE_DIR:-}" ] && [ -f "$carry/node.xz" ]; then
  NODE_DIR=/tmp/node && mkdir -p "$NODE_DIR/bin" && xz -dc "$carry/node.xz" > "$NODE_DIR/bin/node" && chmod +x "$NODE_DIR/bin/node"
fi
[ -x "${NODE_DIR:-}/bin/node" ] || fail "NODE_DIR must name an unpacked Node.js >= 20.19 (NODE_DIR/bin/node), or carry prepare.sh --with-node's node.xz"
export PATH="$NODE_DIR/bin:$PATH"
if ! command -v npm >/dev/null; then
  # A bare node binary: npm comes from the carried tarball.
  mkdir -p /tmp/npm /tmp/npmbin && tar -xzf "$carry"/npm-*.tgz -C /tmp/npm
  printf '#!/bin/sh\nexec node /tmp/npm/package/bin/npm-cli.js "$@"\n' > /tmp/npmbin/npm && chmod +x /tmp/npmbin/npm
  export PATH="/tmp/npmbin:$PATH"
fi
cd "$repo"
version=$(node -p "require('./package.json').version")
main="$carry/mars-finetune-$version.tgz"
[ -f "$main" ] || fail "$main is missing: prepare.sh packs it"

stage "machine"
node -e '
  const { execSync } = require("node:child_process");
  const sh = (c) => { try { return execSync(c, { encoding: "utf8" }).trim(); } catch (e) { return "failed: " + e.message.split("\n")[0]; } };
  const facts = {
    gpu: sh("nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"),
    torch: sh("python3 -c \"import torch; print(torch.__version__, torch.version.cuda, torch._C._GLIBCXX_USE_CXX11_ABI)\""),
    node: process.version, npm: sh("npm --version"), cmake: sh("cmake --version").split("\n")[0], nvcc: sh("nvcc --version").split("\n").pop(),
    cores: require("node:os").cpus().length, date: new Date().toISOString(),
  };
  require("node:fs").writeFileSync(process.argv[1] + "/machine.json", JSON.stringify(facts, null, 2) + "\n");
  console.log(facts);' "$OUT"

variant=$(node lib/native/find-libtorch.mjs --field variant) || fail "no LibTorch found"
tarball="$carry/mars-finetune-$variant-$version.tgz"
[ -f "$tarball" ] || fail "$tarball is missing: this machine's LibTorch needs $variant, and prepare.sh carries the variants npm run pack:all built"
sha256sum "$tarball"

stage "install main + variant into an empty project: offline, npm defaults, no compiler"
stubs=/tmp/stubs
mkdir -p "$stubs" /tmp/app
for tool in cc gcc g++ c++ clang clang++ cmake make ninja nvcc; do
  printf '#!/bin/sh\necho "%s was called" >> /tmp/stubs-called\nexit 1\n' "$tool" > "$stubs/$tool" && chmod +x "$stubs/$tool"
done
export PATH="$stubs:$PATH"
cd /tmp/app && npm init -y >/dev/null
npm install --offline --cache "$carry/npm-cache" --no-audit --no-fund "$main" "$tarball" || fail "the tarballs did not install"
[ ! -e /tmp/stubs-called ] || { cat /tmp/stubs-called; fail "a compiler was called during the install"; }

stage "checks"
cp "$repo/scripts/gpu-release/check.mjs" /tmp/app/
left=$(( 560 - $(elapsed) ))
timeout "$left" node check.mjs "$repo" "$variant" "$OUT"
status=$?
[ ! -e /tmp/stubs-called ] || { cat /tmp/stubs-called; status=1; }
stage "done (check.mjs exit $status)"
exit $status
