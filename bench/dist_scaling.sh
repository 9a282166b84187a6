#!/usr/bin/env bash
# Data-parallel scaling on this machine: ResNet-20 training throughput of 2 MPI ranks x 1 thread
# against 1 process x 1 thread (the same per-rank batch: weak scaling, as data-parallel training is
# used), with the time each step waits for the all-reduce after backward (with the gradients in one
# bucket started when backward ends, in 0.25 MB buckets started during backward, and with overlap
# off), and 1 process x 2 threads as what the same two cores give without MPI
# (docs/distributed.md). Every configuration runs REPS times, interleaved; medians are printed.
#   bench/dist_scaling.sh [images=6400] [epochs=2] [batch=128] [reps=3]
# Throughput is the last epoch's images/s from metrics.jsonl (the first warms up).
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-6400}
epochs=${2:-2}
batch=${3:-128}
reps=${4:-3}
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
  local out=$work/run log=$work/run.log
  rm -rf "$out"
  # shellcheck disable=SC2086  # the launcher is words
  $launcher "$cli" train --data "$work/data" --model resnet20 --epochs "$epochs" --val-fraction 0 \
    --progress never --no-leak-check --workers 1 --out "$out" "$@" >"$log" 2>&1 ||
    { cat "$log"; exit 1; }
  local ips wait
  ips=$(tail -1 "$out/metrics.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["images_per_second"])')
  wait=$(sed -n 's/.*waiting after backward \([0-9.]*\) ms.*/\1/p' "$log")
  printf "%s\t%s\t%s\n" "$label" "$ips" "${wait:--}" >>"$work/results.tsv"
}

mpi="mpirun -np 2 --mca btl self,vader"
[[ $(id -u) -eq 0 ]] && mpi+=" --allow-run-as-root"
for ((r = 0; r < reps; ++r)); do
  run "1 process x 1 thread" "" --threads 1 --batch-size "$batch"
  run "2 ranks x 1 thread, 1 bucket" "$mpi" --threads 1 --batch-size "$batch"
  run "2 ranks x 1 thread, 0.25 MB buckets" "$mpi" --threads 1 --batch-size "$batch" --bucket-mb 0.25
  run "2 ranks x 1 thread, no overlap" "$mpi" --threads 1 --batch-size "$batch" --no-overlap
  run "1 process x 2 threads, batch x2" "" --threads 2 --batch-size "$((batch * 2))"
done
/usr/bin/python3 - "$work/results.tsv" "$images" "$batch" "$epochs" "$reps" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
images, batch, epochs, reps = sys.argv[2:6]
print(f"ResNet-20, {images} Fashion-MNIST images, batch {batch} per process, epoch {epochs} of "
      f"{epochs}, medians of {reps} interleaved runs:")
labels = list(dict.fromkeys(r[0] for r in rows))
med = {}
for label in labels:
    ips = [float(r[1]) for r in rows if r[0] == label]
    waits = [float(r[2]) for r in rows if r[0] == label and r[2] != "-"]
    med[label] = statistics.median(ips)
    wait = f"  wait after backward {statistics.median(waits):5.2f} ms/step" if waits else ""
    print(f"  {label:38s} {med[label]:7.1f} img/s (runs: {', '.join(f'{x:.0f}' for x in ips)}){wait}")
one, two = med[labels[0]], med[labels[1]]
print(f"scaling: 2 ranks give {two / one:.2f}x one rank = {two / (2 * one):.0%} of ideal")
PY
