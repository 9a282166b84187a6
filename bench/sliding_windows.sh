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
# BUILD_DIR (default build-bench) is configured Release with the benchmarks and built here.
build=${BUILD_DIR:-build-bench}
tests=()
[[ -z ${BUILD_DIR:-} ]] && tests=(-DCONVKIT_BUILD_TESTS=OFF)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  "${tests[@]}" "${launcher[@]}" > /dev/null
cmake --build "$build" --target bench_sliding_windows -j"$threads" > /dev/null
OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=passive "$build"/bench/bench_sliding_windows "$reps" 256
