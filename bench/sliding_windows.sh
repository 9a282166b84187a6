#!/usr/bin/env bash
# Naive sliding windows vs the convolutional form on a 256 x 256 image (issue 20's "at least 10x").
#   bench/sliding_windows.sh [threads=2] [reps=5]
# Builds bench_sliding_windows (Release, build-bench/) and runs it; results and the command go to
# docs/benchmarks.md. Not run by CI; run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-5}
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  -DCONVKIT_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build build-bench --target bench_sliding_windows -j"$threads" > /dev/null
OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=passive build-bench/bench/bench_sliding_windows "$reps" 256
