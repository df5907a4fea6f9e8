# Sourced by distributed.sh: sets $OUT (made), records the GPU and
# PyTorch in $OUT/gpu.txt, puts Node from .devcarry/node.xz on PATH, and sets
# $prefix to the CUDA LibTorch's CMake prefix (from the machine's PyTorch).
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT" /tmp/nodebin
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version())' | tee -a "$OUT/gpu.txt"
xz -dc .devcarry/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
export PATH=/tmp/nodebin:$PATH
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
