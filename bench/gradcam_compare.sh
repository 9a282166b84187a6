#!/usr/bin/env bash
# Grad-CAM latency, convkit vs PyTorch 1.13 (issue 19), one image at 224x224, same model and thread
# count, alternating so that both see the same machine load. convkit backpropagates only to the
# layer with frozen parameters (its default); PyTorch is timed both with the usual full backward
# and with that shortcut. ratio = PyTorch frozen ms / convkit ms (> 1: convkit is faster).
#   bench/gradcam_compare.sh [threads=2] [reps=10] [models...]     (default: resnet18)
# BUILD_DIR (default build-bench) is configured Release with the benchmarks and built here.
# Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
models=("$@")
((${#models[@]})) || models=(resnet18)
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build=${BUILD_DIR:-build-bench}
tests=()
[[ -z ${BUILD_DIR:-} ]] && tests=(-DCONVKIT_BUILD_TESTS=OFF)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  "${tests[@]}" "${launcher[@]}" > /dev/null
cmake --build "$build" --target bench_gradcam -j"$threads" > /dev/null
export OMP_NUM_THREADS=$threads
printf "%-12s %-8s %11s %15s %17s %7s\n" model layer "convkit ms" "PyTorch full ms" "PyTorch frozen ms" ratio
for model in "${models[@]}"; do
  ck=$("$build"/bench/bench_gradcam "$model" "$reps" 224)
  layer=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["layer"])' "$ck")
  pt=$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/gradcam_torch.py "$model" --layer "$layer" --reps "$reps" --threads "$threads")
  /usr/bin/python3 - "$ck" "$pt" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("%-12s %-8s %11.2f %15.2f %17.2f %7.2f" % (c["model"], c["layer"], c["ms"], p["full_ms"],
                                               p["frozen_ms"], p["frozen_ms"] / c["ms"]))
PY
done
echo "(1x3x224x224, top-1 class, median of $reps after 2 warm-ups; threads=$threads)"
