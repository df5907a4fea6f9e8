#!/usr/bin/env bash
# A simulated two-host run (docs/distributed.md): two network namespaces
# joined by a veth pair, each with an address of its own (10.241.0.1 and
# 10.241.0.2, which exist only on that pair), one rank of
# `mars-ft finetune` in each. Rank 0's namespace hosts the rendezvous store
# (MASTER_ADDR=10.241.0.1, MASTER_PORT); Gloo's connections go between the
# two addresses. Needs root (ip netns). Tears everything down at exit.
#   bash scripts/distributed/two-hosts.sh OUT_DIR [extra finetune flags]
set -euo pipefail
out=${1:?usage: two-hosts.sh OUT_DIR [flags]}; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
port=${MASTER_PORT:-29500}
cleanup() { ip netns del marsft-a 2>/dev/null || true; ip netns del marsft-b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add marsft-a
ip netns add marsft-b
ip link add mft-a type veth peer name mft-b
ip link set mft-a netns marsft-a
ip link set mft-b netns marsft-b
ip -n marsft-a addr add 10.241.0.1/24 dev mft-a
ip -n marsft-b addr add 10.241.0.2/24 dev mft-b
for ns in marsft-a marsft-b; do ip -n $ns link set lo up; done
ip -n marsft-a link set mft-a up
ip -n marsft-b link set mft-b up
F=/usr/share/datasets/fashion-mnist
job=(finetune --backbone "$root/assets/backbone.pt"
  --train "idx:$F/train-images-idx3-ubyte.gz,$F/train-labels-idx1-ubyte.gz"
  --test "idx:$F/t10k-images-idx3-ubyte.gz,$F/t10k-labels-idx1-ubyte.gz"
  --classes 5,6,7,8,9 --per-class 50 --epochs 3 --batch-size 16 --threads 1 --json "$@")
# Each "host" has its own output folder; rank 0's gets the model.
rank() { # NS RANK
  ip netns exec "$1" env MASTER_ADDR=10.241.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$2 LOCAL_RANK=0 \
    node "$root/dist/cli/main.js" "${job[@]}" --out "$out/host-$2"
}
start=$(date +%s)
rank marsft-a 0 > "$out.rank0.json" &
a=$!
rank marsft-b 1 > /dev/null &
b=$!
wait $a; wait $b
echo "two hosts: done in $(( $(date +%s) - start )) s; rank 0 wrote $(ls "$out/host-0")"
cat "$out.rank0.json"
