#!/usr/bin/env bash
# Loader throughput (JPEG decode + augmentation) next to the training step, for docs/benchmarks.md.
#   bench/loader_bench.sh [epochs=3] [max_workers=2] [train_steps=10]
# Builds bench/loader_bench in build/ (Release) if needed; prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON > /dev/null
cmake --build build --target loader_bench > /dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
build/bench/loader_bench "${1:-3}" "${2:-2}" "${3:-10}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
