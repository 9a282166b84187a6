#!/usr/bin/env bash
# The test command (README): installs dependencies, builds, and runs the whole suite on both
# backends, first in a Release build, then in an ASan+UBSan build that also holds the libFuzzer
# targets (skip that build, and the fuzzing, with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/check_tree.sh
jobs=$(nproc)
# ctest runs $jobs tests at once, each with oneDNN's OpenMP team: waiting threads sleep instead of
# spinning, or the oversubscribed cores spend their time in libgomp's spin loops (measured: up to
# 50x slower kernels when another process competes for the cores; docs/benchmarks.md).
export OMP_WAIT_POLICY=passive

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_TESTS=ON -DCONVKIT_BUILD_BENCH=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
scripts/install_test.sh build

if [[ "${1:-}" != "--quick" ]]; then
  # One clang build serves the sanitizer suite and the fuzz targets (libFuzzer needs clang): the
  # library is compiled once for both. -O1 keeps ASan's reports exact and runs the suite about
  # twice as fast as -O0 (docs/robustness.md).
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DCONVKIT_SANITIZE=ON -DCONVKIT_FUZZ=ON -DCONVKIT_BUILD_BENCH=OFF
  cmake --build build-asan -j"$jobs"
  # The five readers' libFuzzer targets, 50 s each; a finding fails the run (docs/robustness.md).
  FUZZ_BUILD_DIR=build-asan nice -n 5 scripts/fuzz.sh 50
  # Every test on the oneDNN backend; on the reference backend, all but the CLI end-to-end tests
  # (*Cli.*, *Cmd.*): they run the same CLI code over the reference kernels, which the unit tests
  # already cover under the sanitizers, and took a third of this run (docs/robustness.md).
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j"$jobs" -E '^ref\.[A-Za-z0-9_/]*(Cli|Cmd)\.')
fi
