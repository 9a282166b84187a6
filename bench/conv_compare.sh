#!/usr/bin/env bash
# convkit (oneDNN backend) vs PyTorch conv2d at ResNet-20 shapes, batch 128.
#   bench/conv_compare.sh [threads=2] [rounds=5] [calls=9]
# Builds bench_conv (Release, build-bench/), then alternates rounds of bench_conv and
# bench/conv_torch.py so that both see the same machine load (other jobs share the cores). Each
# round takes `calls` samples per shape and phase on each side, back to back after a warm-up:
# torch times single calls; Google Benchmark times repetitions of at least 20 ms each (a few calls,
# averaged; a repetition of one call would follow the benchmark's setup with cold caches and
# sleeping OpenMP threads). Prints per shape and phase: the median over rounds of each round's
# median sample, and the fastest sample overall (the least disturbed by other jobs), for convkit
# and torch, and their ratios convkit/torch.
# TORCH_MALLOC_TUNED=1 runs torch with glibc told to keep freed memory (MALLOC_MMAP_THRESHOLD_,
# MALLOC_TRIM_THRESHOLD_): by default its large temporaries are fresh mmaps that fault in on every
# call, which convkit avoids by recycling large blocks; this shows torch without that cost.
# Results and the command go to docs/benchmarks/conv.md.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-5}
calls=${3:-9}
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  -DCONVKIT_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build build-bench --target bench_conv -j"$threads" > /dev/null

torch_env=(env)
[[ "${TORCH_MALLOC_TUNED:-0}" == 1 ]] &&
  torch_env=(env MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=$threads
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  build-bench/bench/bench_conv --benchmark_filter='/dnnl' --benchmark_min_time=0.02 \
    --benchmark_repetitions="$calls" --benchmark_format=json \
    --benchmark_out="$out/convkit_$r.json" > /dev/null
  "${torch_env[@]}" /usr/bin/python3 bench/conv_torch.py --threads "$threads" --repeats "$calls" \
    --json "$out/torch_$r.json" > /dev/null
done

/usr/bin/python3 - "$out" "$rounds" "$threads" "$calls" <<'PY'
import json, statistics, sys
out, rounds, threads, calls = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
phases = ["fwd", "bwd_data", "bwd_weights", "fwd_bwd"]
ck, th = {}, {}  # (layer, phase) -> one list of call times (ms) per round
for r in range(1, rounds + 1):
    calls_ck = {}
    for b in json.load(open("%s/convkit_%d.json" % (out, r)))["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        _, layer, phase = b["name"].split("/")[:3]
        assert b["time_unit"] == "ms"
        calls_ck.setdefault((layer, phase), []).append(b["real_time"])
    for k, v in calls_ck.items():
        ck.setdefault(k, []).append(v)
    for layer, d in json.load(open("%s/torch_%d.json" % (out, r))).items():
        for phase, v in d.items():
            th.setdefault((layer, phase), []).append(v)

def stats(rounds_of_calls):
    med = statistics.median(statistics.median(c) for c in rounds_of_calls)
    return med, min(min(c) for c in rounds_of_calls)

print("conv2d batch 128, 3x3 pad 1, %s threads, %d alternating rounds of %s calls" % (threads, rounds, calls))
print("median: median over rounds of the round's median sample; best: fastest sample; ratio = convkit / torch")
print("%-14s %-12s %17s %17s %17s" % ("", "", "convkit ms", "torch ms", "ratio"))
print("%-14s %-12s %8s %8s %8s %8s %8s %8s" % ("shape", "phase", "median", "best", "median", "best", "median", "best"))
worst_med = worst_best = 0
for layer in dict.fromkeys(l for l, _ in th):
    for phase in phases:
        cm, cb = stats(ck[(layer, phase)])
        tm, tb = stats(th[(layer, phase)])
        worst_med, worst_best = max(worst_med, cm / tm), max(worst_best, cb / tb)
        print("%-14s %-12s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f" % (layer, phase, cm, cb, tm, tb, cm / tm, cb / tb))
print("worst ratio: median %.2f, best %.2f (target <= 1.20)" % (worst_med, worst_best))
PY
