#!/usr/bin/env bash
# Clean-room check of README's "Quick start from a checkout": proves its two
# commands work on a Debian 12 machine nobody touched.
#   1. a bare Debian 12 (bookworm) root: debootstrap --variant=minbase plus
#      ca-certificates, git, netbase, from this host's apt mirror; cached as a
#      tarball keyed by suite, packages and mirror, which a rerun reuses. It
#      holds only that bare system, nothing of the project's set-up;
#   2. this host's Node.js (>= 20.19; Debian's own is too old) and npm copied in;
#   3. a git clone of this checkout at HEAD or --ref: COMMITTED STATE ONLY,
#      uncommitted and untracked files are not part of the run;
#   4. in a chroot with a clean environment, README's two commands, each in a
#      fresh clone (the second after the first, on the same machine);
#   5. a summary: the time of each stage, the demo's last lines, the test count.
# Usage, as root:  bash scripts/clean-room.sh [--ref REF] [--keep] [--smoke]
#   --ref REF  clone REF (any commit-ish of this repository) instead of HEAD
#   --keep     leave the root folder in place at the end, for a look inside
#   --smoke    cheap rehearsal: stop after node --version, npm --version and
#              git log -1 inside the chroot (no set-up, no tests)
# Environment: MARS_FT_CLEAN_ROOM_DIR (where the root goes; default
#   /var/tmp/mars-clean-room; a full run needs ~15 GB: LibTorch, PyTorch,
#   Chromium), MARS_FT_CLEAN_ROOM_CACHE (bare-root tarballs; default
#   ~/.cache/mars-finetune/clean-room), OUT (default /tmp/clean-room-<date>:
#   clean-room.log with everything, demo.log, tests.log, test-results.json).
# Exits non-zero if any stage fails; mounts are undone on any exit.
# Cost (measured 2026-12-07, 2 cores): the bare root 54 s the first time
# (debootstrap; a 90 MB tarball after) and 9 s reused; setup + demo 7.5 min;
# setup + tests 8.5 min: about 17 minutes in all.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin   # debootstrap and chroot live there; `su` without - drops them

KEEP=0 SMOKE=0 REF=HEAD FAILED=0 STAGES=() CA_ENV=()
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=1 ;;  --smoke) SMOKE=1 ;;
    --ref) REF=${2:?--ref needs a commit-ish}; shift ;;
    -h|--help) sed -n '2,/^# Cost/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "clean-room: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac; shift
done

die() { echo "clean-room: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run me as root: debootstrap, mount and chroot need it"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
NODE=$(command -v node) || die "no node on PATH: the host's Node.js (>= 20.19) is copied into the root"
REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
SHA=$(git -C "$REPO" rev-parse --verify -q "$REF^{commit}") || die "$REF is no commit of $REPO"

STAMP=$(date +%Y%m%d-%H%M%S)
DIR=${MARS_FT_CLEAN_ROOM_DIR:-/var/tmp/mars-clean-room}
CACHE=${MARS_FT_CLEAN_ROOM_CACHE:-$HOME/.cache/mars-finetune/clean-room}
OUT=${OUT:-/tmp/clean-room-$STAMP}
[[ $DIR$OUT != *[[:space:]]* ]] || die "no spaces in MARS_FT_CLEAN_ROOM_DIR or OUT, please"
mkdir -p "$DIR" "$CACHE" "$OUT"
DIR=$(realpath "$DIR")   # /proc/self/mounts shows resolved paths; the unmount relies on it
ROOT=$DIR/root-$STAMP
need=$([ $SMOKE = 1 ] && echo 2 || echo 15)
free=$(df -P -BG "$DIR" | awk 'NR == 2 { print int($4) }')
[ "$free" -ge "$need" ] || die "$DIR has $free GB free, this run needs about $need GB (LibTorch, PyTorch, Chromium): point MARS_FT_CLEAN_ROOM_DIR at a disk with room"

# Everything to the log too; tee ignores Ctrl-C so the cleanup's messages still reach it.
exec > >(trap '' INT TERM; exec tee -a "$OUT/clean-room.log") 2>&1
TEE=$!

apt_url() { # the first URL in the host's apt sources (comments aside) that ends in /$1
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE "https?://[^[:space:]]+/$1/?([[:space:]]|\$)" | head -n1 | tr -d '[:space:]' | sed 's:/$::'
}
MIRROR=$(apt_url debian || true); MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=$(apt_url debian-security || true); SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
INCLUDE=ca-certificates,git,netbase   # netbase: /etc/services and /etc/protocols, as on any real install
ARCH=$(dpkg --print-architecture)
KEY=$(printf '%s\n' bookworm minbase "$INCLUDE" "$MIRROR" "$SECURITY" "$ARCH" | sha256sum | cut -c1-12)
Z=gzip; command -v zstd >/dev/null && Z=zstd
TARBALL=$CACHE/bookworm-minbase-$ARCH-$KEY.tar.$([ $Z = zstd ] && echo zst || echo gz)

note() { # stage name, start second, exit status
  STAGES+=("$(printf '%-24s %6s s  %s' "$1" $((SECONDS - $2)) "$([ "$3" = 0 ] && echo ok || echo "FAILED (exit $3)")")")
  [ "$3" = 0 ] || FAILED=1
}
mounts_under_root() { awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r; }
stop_root_procs() { # whatever still runs inside would keep the mounts busy
  local sig p found
  for sig in TERM KILL; do
    found=0
    for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -s $sig "${p#/proc/}" 2>/dev/null && found=1; done
    [ $found = 0 ] && break; sleep 1
  done
}
summary() {
  echo "== summary: clone of $SHA; log $OUT/clean-room.log"
  [ ${#STAGES[@]} = 0 ] || printf '  %s\n' "${STAGES[@]}"
  if [ -f "$OUT/demo.log" ]; then echo "-- demo, last lines:"; tail -n 12 "$OUT/demo.log"; fi
  if [ -f "$OUT/test-results.json" ]; then
    echo "-- tests: $(node -e 'const r = require(process.argv[1]); console.log(r.numPassedTests + " passed, " + r.numFailedTests + " failed")' "$OUT/test-results.json")"
  elif [ $SMOKE = 0 ]; then echo "-- tests: no test-results.json"; fi
}
cleanup() {
  local rc=$? m
  set +e; trap - EXIT INT TERM
  summary
  if [ -d "$ROOT" ]; then
    stop_root_procs
    for m in $(mounts_under_root); do umount "$m" 2>/dev/null || umount -l "$m"; done
    if [ -n "$(mounts_under_root)" ]; then echo "clean-room: still mounted under $ROOT, not removing it"; rc=1
    elif [ $KEEP = 1 ]; then echo "clean-room: kept $ROOT"
    else rm -rf --one-file-system "$ROOT"; fi
  fi
  echo "clean-room: $([ $rc = 0 ] && echo PASSED || echo "FAILED (exit $rc)")"
  exec >&- 2>&-; wait "$TEE" 2>/dev/null   # let tee finish the log before we go
  exit $rc
}
trap cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM

bare_root() {
  if [ -f "$TARBALL" ]; then
    echo "== bare root: reusing cached $TARBALL"
    mkdir "$ROOT" && tar -C "$ROOT" -I $Z -xpf "$TARBALL" --numeric-owner; BARE=reused
  else
    echo "== bare root: debootstrap bookworm from $MIRROR (nothing cached at $TARBALL)"
    debootstrap --variant=minbase --include="$INCLUDE" --arch="$ARCH" bookworm "$ROOT" "$MIRROR"
    # What a fresh install has: updates and security sources, localhost in /etc/hosts.
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
      "$MIRROR" "$MIRROR" "$SECURITY" > "$ROOT/etc/apt/sources.list"
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
    rm -f "$ROOT"/var/cache/apt/archives/*.deb
    tar -C "$ROOT" -I $Z -cpf "$TARBALL.tmp" --numeric-owner . && mv "$TARBALL.tmp" "$TARBALL"; BARE=debootstrap
  fi
}
find_npm() { # npm's package folder: beside node's prefix, behind the npm command, or npm root -g
  local d
  for d in "$(dirname "$(dirname "$(readlink -f "$NODE")")")/lib/node_modules/npm" \
           "$(dirname "$(readlink -f "$(command -v npm || echo /none)")")/.." "$(npm root -g 2>/dev/null || echo /none)/npm"; do
    if [ -f "$d/bin/npm-cli.js" ]; then readlink -f "$d"; return; fi
  done
  die "cannot find npm (bin/npm-cli.js) for $NODE"
}
bring_node() { # as a nodejs.org build lays it out under /usr/local: node, npm, npx, Node's headers
  local npm prefix t
  npm=$(find_npm); prefix=$(dirname "$(dirname "$(readlink -f "$NODE")")")
  install -D -m755 "$(readlink -f "$NODE")" "$ROOT/usr/local/bin/node"
  mkdir -p "$ROOT/usr/local/lib/node_modules" "$ROOT/usr/local/include"
  cp -a "$npm" "$ROOT/usr/local/lib/node_modules/npm"
  [ ! -d "$prefix/include/node" ] || cp -a "$prefix/include/node" "$ROOT/usr/local/include/"
  for t in npm npx; do
    printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' $t > "$ROOT/usr/local/bin/$t"
  done
  chmod 755 "$ROOT/usr/local/bin/npm" "$ROOT/usr/local/bin/npx"
}
clone() { # a clone of $SHA at /root/$1 inside the root
  git -c safe.directory="$REPO" clone -q --no-hardlinks --no-checkout "$REPO" "$ROOT/root/$1"
  git -C "$ROOT/root/$1" checkout -q --detach "$SHA"
}
mount_all() {
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  mkdir -p "$ROOT/tmp" && chmod 1777 "$ROOT/tmp"   # npm test writes there
  # No service may start from a package's postinst: it would outlive the run and hold the mounts.
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d" && chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs -o ro sysfs "$ROOT/sys"
  mount --bind /dev "$ROOT/dev" && mount --make-private "$ROOT/dev"   # nothing may propagate to the host's /dev
  mount --bind /dev/pts "$ROOT/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$ROOT/dev/shm"   # Chromium needs shared memory, and not the host's
}
host_cas() { # a host behind a TLS-inspecting proxy trusts its CA; without it npm ci fails inside
  [ -n "$(ls -A /usr/local/share/ca-certificates 2>/dev/null)" ] || return 0
  echo "== the host's own CA certificates, for its network only: $(ls /usr/local/share/ca-certificates | tr '\n' ' ')"
  cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
  in_root 'update-ca-certificates >/dev/null 2>&1'
  CA_ENV=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)   # Node reads its own CA list otherwise
}
in_root() { # $1 runs inside, in a clean environment: nothing of the host's leaks in
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM=dumb LANG=C.UTF-8 "${CA_ENV[@]}" /bin/bash -c "$1"
}
readme_stage() { # log name, clone folder, command from README (each in a clone of its own)
  local t0=$SECONDS rc=0
  echo "== $1: $3"
  [ -d "$ROOT/root/$2" ] || clone "$2"
  # Backgrounded and waited for: bash holds a trap until a foreground command ends (30+ min here).
  { in_root "cd /root/$2 && $3" 2>&1 | tee "$OUT/$1.log"; } & wait $! || rc=$?
  note "setup + $1" $t0 $rc
}

t0=$SECONDS; bare_root; note "bare root ($BARE)" $t0 0
t0=$SECONDS
echo "== node $("$NODE" --version) and a clone of $SHA ($REF; committed state only, $(git -C "$REPO" status --porcelain | wc -l) uncommitted/untracked paths left out)"
bring_node; clone mars-finetune; mount_all; host_cas
version=$(in_root 'node --version'); IFS=. read -r major minor _ <<< "${version#v}"
(( major > 20 || (major == 20 && minor >= 19) )) || die "node $version in the root is older than 20.19"
note "node + clone + mounts" $t0 0
if [ $SMOKE = 1 ]; then
  t0=$SECONDS; rc=0
  in_root 'node --version && npm --version && git -C /root/mars-finetune log -1 --oneline' & wait $! || rc=$?
  note "smoke" $t0 $rc
  exit $FAILED
fi
# README.md, "Quick start from a checkout": its two commands, as written there.
readme_stage demo mars-finetune 'bash scripts/setup-debian.sh && node dist/cli/main.js demo'
readme_stage tests mars-finetune-tests 'bash scripts/setup-debian.sh && npm test'
cp "$ROOT/root/mars-finetune-tests/test-results.json" "$OUT/" 2>/dev/null || true
exit $FAILED
