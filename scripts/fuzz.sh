#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, everything under ASan + UBSan) into build-fuzz/ and
# runs each for a bounded time, one after the other (docs/robustness.md).
#   [FUZZ_BUILD_DIR=DIR] scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#     FUZZ_BUILD_DIR      an existing clang build configured with -DCONVKIT_FUZZ=ON (scripts/test.sh
#                         passes its sanitizer build, so the library is compiled once for both)
#     SECONDS_PER_TARGET  default 50: the five targets take under 5 minutes together
#     TARGET              safetensors idx image_probe csv_list onnx (default: all)
# Each target starts from its seeds (fuzz/corpus/<target>, read only) and the corpus earlier runs
# grew (build-fuzz/corpus/<target>). Exits non-zero when a target finds a crash, a sanitizer report,
# a leak, a timeout or an out-of-memory, after printing the reproducer's path and how to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-50}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(safetensors idx image_probe csv_list onnx)
build=${FUZZ_BUILD_DIR:-build-fuzz}

if [[ -n ${FUZZ_BUILD_DIR:-} ]]; then
  grep -q "^CONVKIT_FUZZ:BOOL=ON" "$build/CMakeCache.txt" 2>/dev/null ||
    { echo "fuzz.sh: $build is not a build configured with -DCONVKIT_FUZZ=ON" >&2; exit 2; }
else
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCONVKIT_FUZZ=ON -DCONVKIT_BUILD_TESTS=OFF -DCONVKIT_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t artifacts=$build/artifacts/$t-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f fuzz/$t.dict ]] && dict=(-dict="fuzz/$t.dict")
  log=$build/fuzz_$t.log
  echo "fuzz_$t: ${seconds}s (log $log)"
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
      "$corpus" "fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | sed 's/^/  /'
  else
    failed=1
    echo "fuzz_$t FOUND A PROBLEM:"
    grep -E "ERROR: |runtime error|SUMMARY" "$log" | head -5 | sed 's/^/  /'
    for a in "$artifacts"/*; do
      [[ -e $a ]] && echo "  reproducer: $a (replay: $build/fuzz/fuzz_$t $a)"
    done
  fi
done
exit $failed
