#!/usr/bin/env bash
# Makes (or reuses) a virtual environment with PyTorch 2.11 from PyPI (its
# default build, CUDA 13.0: the same 2.11.0+cu130 as the lent GPU machines),
# torchvision to match, and CUDA 13.0's nvcc and headers from PyPI, pinned in
# scripts/torch2/requirements.txt. The CUDA variant is built against it and
# the test suite runs on it (.ci/run); a CUDA LibTorch runs on the CPU of a
# machine without a GPU.
#   bash scripts/setup-torch2.sh     prints the environment's python on its last line
# The environment and the downloaded wheels live outside the checkout
# (MARS_FT_TORCH2_VENV, default ~/.cache/mars-finetune/torch2.11; the wheels
# in ~/.cache/mars-finetune/wheels, since pip's own cache kept nothing on
# this project's machines), so a rerun, or a fresh clone on the same
# machine, reuses both; a fresh machine downloads 2.7 GB once. The
# environment is remade only when requirements.txt changes (its hash is
# stamped in it); every file is checked against the hashes locked there.
# Needs Debian's python3 and python3-venv (scripts/setup-debian.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/torch2/requirements.txt
venv=${MARS_FT_TORCH2_VENV:-$HOME/.cache/mars-finetune/torch2.11}
wheels=$HOME/.cache/mars-finetune/wheels
want=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$want" ]; then
  start=$(date +%s)
  echo "setup-torch2: making $venv from $requirements" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  pip=("$venv/bin/pip" --disable-pip-version-check --no-input --quiet)
  "${pip[@]}" download --require-hashes --no-deps -d "$wheels" -r "$requirements" >&2
  "${pip[@]}" install --require-hashes --no-deps --no-index --find-links "$wheels" -r "$requirements" >&2
  echo "$want" > "$venv/.requirements-sha256"
  echo "setup-torch2: installed in $(( $(date +%s) - start )) s; $(du -sh "$venv" | cut -f1) on disk" >&2
fi
"$venv/bin/python" -c 'import torch, sys; assert torch.__version__ == "2.11.0+cu130", torch.__version__; print(sys.executable)'
