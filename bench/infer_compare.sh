#!/usr/bin/env bash
# Inference time per image, convkit vs PyTorch (torchvision, same architecture and thread count),
# at 224x224, batch 1 and batch 32, in one run: the two alternate model by model so that both see
# the same machine load. convkit: the planned path (what Session/predict/eval/serve run) and the
# module's own forward; PyTorch: eager and frozen TorchScript, with OpenBLAS and glibc huge pages.
# Prints a table; ratio = convkit planned ms / best PyTorch ms (< 1: convkit is faster).
#   bench/infer_compare.sh [threads=2] [reps=10] [models...]
# BUILD_DIR (default build-bench) is configured Release with the benchmarks and built here.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
models=("$@")
((${#models[@]})) || models=(resnet18 resnet50 vgg16 googlenet mobilenet_v2)
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build=${BUILD_DIR:-build-bench}
tests=()
[[ -z ${BUILD_DIR:-} ]] && tests=(-DCONVKIT_BUILD_TESTS=OFF)  # leave a given build's tests alone
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  "${tests[@]}" "${launcher[@]}" > /dev/null
cmake --build "$build" --target bench_infer -j"$threads" > /dev/null
export OMP_NUM_THREADS=$threads
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE  # PyTorch at its best: OpenBLAS picks its own kernels
printf "%-13s %5s %9s %9s %9s %9s %7s\n" model batch "ck plan" "ck module" "pt eager" "pt frozen" ratio
for model in "${models[@]}"; do
  for batch in 1 32; do
    r=$reps
    ((batch > 1 && r > 3)) && r=3  # a batch of 32 at 224 px takes seconds
    ck=$("$build"/bench/bench_infer "$model" "$batch" "$r" 224 plan)
    cm=$("$build"/bench/bench_infer "$model" "$batch" "$r" 224 module)
    pt=$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/infer_torch.py "$model" \
      --batch "$batch" --reps "$r" --threads "$threads")
    /usr/bin/python3 - "$ck" "$cm" "$pt" <<'PY'
import json, sys
c, m, p = (json.loads(a) for a in sys.argv[1:4])
print("%-13s %5d %9.2f %9.2f %9.2f %9.2f %7.2f" % (
    c["model"], c["batch"], c["ms_per_image"], m["ms_per_image"], p["eager_ms_per_image"],
    p["frozen_ms_per_image"], c["ms_per_image"] / p["ms_per_image"]))
PY
  done
done
echo "(ms per image; 224x224, 1000 classes, eval mode, median of $reps passes at batch 1 / 3 at batch 32; threads=$threads)"
