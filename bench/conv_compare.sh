#!/usr/bin/env bash
# convkit (oneDNN backend) vs PyTorch conv2d at ResNet-20 shapes, batch 128.
#   bench/conv_compare.sh [threads=2] [rounds=5]
# Builds bench_conv (Release, build-bench/), then alternates rounds of bench_conv and
# bench/conv_torch.py so that both see the same machine load (other jobs share the cores), and
# prints per shape and phase the median over rounds: convkit ms, torch ms, ratio convkit/torch.
# Results and the command go to docs/benchmarks/conv.md.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
rounds=${2:-5}
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  -DCONVKIT_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build build-bench --target bench_conv -j"$threads" > /dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=$threads
for r in $(seq "$rounds"); do
  echo "round $r/$rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  build-bench/bench/bench_conv --benchmark_filter='/dnnl' --benchmark_format=json \
    --benchmark_out="$out/convkit_$r.json" > /dev/null
  /usr/bin/python3 bench/conv_torch.py --threads "$threads" --repeats 7 \
    --json "$out/torch_$r.json" > /dev/null
done

/usr/bin/python3 - "$out" "$rounds" "$threads" <<'PY'
import json, statistics, sys
out, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
phases = ["fwd", "bwd_data", "bwd_weights", "fwd_bwd"]
ck, th = {}, {}
for r in range(1, rounds + 1):
    for b in json.load(open("%s/convkit_%d.json" % (out, r)))["benchmarks"]:
        _, layer, phase = b["name"].split("/")[:3]
        assert b["time_unit"] == "ms"
        ck.setdefault((layer, phase), []).append(b["real_time"])
    for layer, d in json.load(open("%s/torch_%d.json" % (out, r))).items():
        for phase, ms in d.items():
            th.setdefault((layer, phase), []).append(ms)
print("conv2d batch 128, 3x3 pad 1, %s threads, median of %d alternating rounds" % (threads, rounds))
print("%-14s %-12s %10s %10s %7s" % ("shape", "phase", "convkit ms", "torch ms", "ratio"))
ratios = []
for layer in dict.fromkeys(l for l, _ in th):
    for phase in phases:
        c, t = statistics.median(ck[(layer, phase)]), statistics.median(th[(layer, phase)])
        ratios.append(c / t)
        print("%-14s %-12s %10.2f %10.2f %7.2f" % (layer, phase, c, t, c / t))
print("worst ratio %.2f (target <= 1.20)" % max(ratios))
PY
