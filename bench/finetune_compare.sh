#!/usr/bin/env bash
# Fine-tuning speed at 224x224 (issue 22): a ResNet-18 training step at batch 32 (every layer
# trained, SGD with momentum, random data), convkit (`convkit bench --train`, float32 and
# mixed-precision bfloat16) against PyTorch 1.13 eager (OpenBLAS, huge pages), alternating in one
# run. Prints the median step times and the ratios.
#   BUILD_DIR=build bench/finetune_compare.sh [threads=2] [rounds=3] [steps=8]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-3}
steps=${3:-8}
cli=${BUILD_DIR:-build}/convkit
[[ -x $cli ]] || { echo "no $cli: build first (cmake --build ${BUILD_DIR:-build})" >&2; exit 1; }
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE  # PyTorch at its best: OpenBLAS picks its own kernels
export OMP_NUM_THREADS=$threads
ck_ms() {  # median step ms of convkit bench --train with dtype $1
  "$cli" bench resnet18 --train --batch 32 --reps "$steps" --warmup 2 --threads "$threads" \
    --dtype "$1" --json /tmp/finetune_ck.json > /dev/null
  /usr/bin/python3 -c 'import json; print(json.load(open("/tmp/finetune_ck.json"))["p50_ms"])'
}
printf "%-6s %12s %12s %12s %9s %9s\n" round "ck f32 ms" "ck bf16 ms" "pt eager ms" "f32 x" "bf16 x"
for r in $(seq 1 "$rounds"); do
  f=$(ck_ms f32)
  b=$(ck_ms bf16)
  p=$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/finetune_torch.py \
      --batch 32 --steps "$steps" --threads "$threads" | /usr/bin/python3 -c \
      'import json,sys; print(json.load(sys.stdin)["step_ms"])')
  /usr/bin/python3 - "$r" "$f" "$b" "$p" <<'PY'
import sys
r, f, b, p = sys.argv[1], *map(float, sys.argv[2:])
print("%-6s %12.1f %12.1f %12.1f %9.2f %9.2f" % (r, f, b, p, p / f, p / b))
PY
done
echo "(x = PyTorch step time / convkit step time: > 1 means convkit is faster; batch 32, 224x224, threads=$threads)"
