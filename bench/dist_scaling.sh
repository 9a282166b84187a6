#!/usr/bin/env bash
# Data-parallel scaling on this machine: ResNet-20 training throughput of 2 MPI ranks x 1 thread
# against 1 process x 1 thread (the same per-rank batch: weak scaling, as data-parallel training is
# used), with the all-reduce's waiting time per step with and without overlapping backward, and
# 1 process x 2 threads as what the same two cores give without MPI (docs/distributed.md).
#   bench/dist_scaling.sh [images=6400] [epochs=2] [batch=128]
# Throughput is the last epoch's images/s from metrics.jsonl (the first warms up).
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-6400}
epochs=${2:-2}
batch=${3:-128}
build=${BUILD_DIR:-build}
cli=$build/convkit
[[ -x $cli ]] || { echo "build $cli first (cmake --build $build)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/convkit-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The first $images training images of Fashion-MNIST as plain IDX files (and 1000 test images).
/usr/bin/python3 - "$work/data" "$images" <<'PY'
import gzip, os, sys
src, dst, n = "/usr/share/datasets/fashion-mnist", sys.argv[1], int(sys.argv[2])
os.makedirs(dst, exist_ok=True)
for split, count in (("train", n), ("t10k", 1000)):
    for kind, header, item in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
        name = f"{split}-{kind}-ubyte"
        raw = gzip.open(f"{src}/{name}.gz").read()
        head = bytearray(raw[:header])
        head[4:8] = count.to_bytes(4, "big")
        open(f"{dst}/{name}", "wb").write(bytes(head) + raw[header:header + count * item])
PY

run() {  # label, launcher ("" or mpirun's words), train options...
  local label=$1 launcher=$2; shift 2
  local out=$work/$label
  local log=$work/$label.log
  # shellcheck disable=SC2086  # the launcher is words
  $launcher "$cli" train --data "$work/data" --model resnet20 --epochs "$epochs" --val-fraction 0 \
    --progress never --no-leak-check --workers 1 --out "$out" "$@" >"$log" 2>&1 ||
    { cat "$log"; exit 1; }
  local ips
  ips=$(tail -1 "$out/metrics.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])')
  printf "%-34s %10.1f img/s  %s\n" "$label" "$ips" "$(grep -h '^all-reduce' "$log" || true)"
  echo "$ips" >"$work/$label.ips"
}

mpi="mpirun -np 2 --mca btl self,vader"
[[ $(id -u) -eq 0 ]] && mpi+=" --allow-run-as-root"
echo "ResNet-20, $images Fashion-MNIST images, batch $batch per process, epoch $epochs of $epochs:"
run "1 process x 1 thread" "" --threads 1 --batch-size "$batch"
run "2 ranks x 1 thread (overlap)" "$mpi" --threads 1 --batch-size "$batch"
run "2 ranks x 1 thread (no overlap)" "$mpi" --threads 1 --batch-size "$batch" --no-overlap
run "1 process x 2 threads (batch x2)" "" --threads 2 --batch-size "$((batch * 2))"
/usr/bin/python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
one = float(open(f"{w}/1 process x 1 thread.ips").read())
two = float(open(f"{w}/2 ranks x 1 thread (overlap).ips").read())
print(f"scaling: 2 ranks give {two / one:.2f}x one rank = {two / (2 * one):.0%} of ideal")
PY
