#!/usr/bin/env bash
# Training and inference throughput, convkit vs PyTorch, same architectures, same thread count, in
# one run (alternating, so both see the same machine load). Prints a table with the ratios.
#   [BUILD_DIR=build] bench/train_compare.sh [threads=2] [steps=20]
# BUILD_DIR: an existing Release build configured with -DCONVKIT_BUILD_BENCH=ON (default: its own
# build-bench, configured and built here).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
steps=${2:-20}
build=${BUILD_DIR:-build-bench}
if [[ -z ${BUILD_DIR:-} ]]; then
  launcher=()
  command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
    -DCONVKIT_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
fi
cmake --build "$build" --target bench_train -j"$threads" > /dev/null
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE  # PyTorch at its best: OpenBLAS picks its own kernels
export OMP_NUM_THREADS=$threads
printf "%-14s %12s %12s %7s %12s %12s %7s %10s %10s\n" model "ck train/s" "pt train/s" ratio \
  "ck infer/s" "pt infer/s" ratio "ck b1 ms" "pt b1 ms"
for model in lenet5-modern resnet20; do
  ck=$("$build"/bench/bench_train "$model" "$steps" 128)
  pt=$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/train_torch.py "$model" \
       --steps "$steps" --threads "$threads")
  /usr/bin/python3 - "$ck" "$pt" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("%-14s %12.0f %12.0f %7.2f %12.0f %12.0f %7.2f %10.2f %10.2f" % (
    c["model"], c["train_img_s"], p["train_img_s"], c["train_img_s"] / p["train_img_s"],
    c["infer_img_s"], p["infer_img_s"], c["infer_img_s"] / p["infer_img_s"],
    c["latency_ms"], p["latency_ms"]))
PY
done
echo "(ratio = convkit / PyTorch img/s; > 1 means convkit is faster; threads=$threads, batch 128, steps=$steps)"
