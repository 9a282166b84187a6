#!/usr/bin/env bash
# Load test of `convkit serve` (issue 23), to 127.0.0.1 only, in one run on this machine:
#   1. in-process baseline: infer::Session on the same checkpoint, batch 1 latency and batch 32
#      throughput (bench_session, which also writes the checkpoint: ResNet-20, 1 x 28 x 28,
#      10 classes, random weights);
#   2. the server on that checkpoint, driven by 1, 8 and 64 keep-alive clients for T seconds each
#      (serve_load): requests/s, p50/p99 latency, mean batch size;
#   3. 1,000 malformed requests (scripts/serve_fuzz.py): only 4xx answers, RSS growth < 10%.
# Prints the ratios the issue asks for. The clients share the 2 cores with the server.
#   bench/serve_load.sh [seconds=10] [threads=2]     (SERVE_ARGS: more `convkit serve` options)
# BUILD_DIR (default build-bench) is configured Release with the benchmarks and built here.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
threads=${2:-2}
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build=${BUILD_DIR:-build-bench}
tests=()
[[ -z ${BUILD_DIR:-} ]] && tests=(-DCONVKIT_BUILD_TESTS=OFF)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  "${tests[@]}" "${launcher[@]}" > /dev/null
cmake --build "$build" --target convkit_cli bench_session serve_load -j"$threads" > /dev/null
tmp=$(mktemp -d)
server=""
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=$threads

base=$("$build"/bench/bench_session resnet20 28 1 10 "$tmp/resnet20.safetensors" 32 50)
echo "in-process: $base"
/usr/bin/python3 - "$tmp/digit.png" <<'PY'
import sys, numpy as np, cv2
rng = np.random.default_rng(0)
cv2.imwrite(sys.argv[1], (rng.random((28, 28)) * 255).astype(np.uint8))
PY

"$build"/convkit serve "$tmp/resnet20.safetensors" --port 0 --threads "$threads" --timeout 5 ${SERVE_ARGS:-} > "$tmp/serve.out" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/serve.out" && break; sleep 0.1; done
port=$(grep -o "127.0.0.1:[0-9]*" "$tmp/serve.out" | head -1 | cut -d: -f2)
rss() { awk '/VmRSS/ {print $2}' /proc/$server/status; }
echo "server pid $server port $port, RSS $(rss) kB"
"$build"/bench/serve_load "$port" "$tmp/digit.png" "$seconds" 1 8 64 | tee "$tmp/load.jsonl"
echo "server RSS after the load: $(rss) kB"
[[ -n ${NO_FUZZ:-} ]] || /usr/bin/python3 scripts/serve_fuzz.py "$port" "$tmp/digit.png" --pid "$server" || fuzz_failed=1
/usr/bin/python3 - "$base" "$tmp/load.jsonl" <<'PY'
import json, sys
base = json.loads(sys.argv[1])
runs = {r["clients"]: r for r in map(json.loads, open(sys.argv[2]))}
print(f"\nin-process batch {base['batch']}: {base['batch_images_per_s']:.0f} images/s; "
      f"batch 1: {base['batch1_ms']:.3f} ms")
for c, r in sorted(runs.items()):
    print(f"{c:3d} clients: {r['requests_per_s']:8.0f} req/s = {r['requests_per_s'] / base['batch_images_per_s']:.2f}x "
          f"in-process batch {base['batch']}; p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms "
          f"= {r['p99_ms'] / base['batch1_ms']:.2f}x in-process batch 1; mean batch {r['mean_batch']:.1f}; "
          f"{r['failed']} failed")
PY
kill -TERM $server
wait $server && echo "server: exit 0 after SIGTERM"
server=""
exit ${fuzz_failed:-0}
