#!/usr/bin/env bash
# Seconds per style-transfer iteration, convkit vs PyTorch, on the same images and problem
# (bench/style_torch.py mirrors `convkit style`'s defaults: VGG-19 to relu5_1, L-BFGS with one
# loss evaluation per iteration, history 100). Run it on an idle machine:
#   bench/style_compare.sh [threads=2] [iters=20] [weights.safetensors]
# Alternates convkit and torch `rounds` times (3) at 256 and 512 and prints every measurement; the
# issue's bar is convkit <= torch at both sizes. Without weights both use random VGG-19 filters
# (the arithmetic, and so the time, is the same as with ImageNet weights).
# Results and the command go to docs/style.md ("Speed").
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
iters=${2:-20}
weights=${3:-}
rounds=3
# BUILD_DIR=build uses an existing Release build instead of configuring build-bench.
build=${BUILD_DIR:-}
if [[ -z $build ]]; then
  build=build-bench
  launcher=()
  command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_TESTS=OFF \
    "${launcher[@]}" > /dev/null
  cmake --build build-bench --target convkit_cli -j"$threads" > /dev/null
fi
img=$(mktemp -d)
trap 'rm -rf "$img"' EXIT
/usr/bin/python3 scripts/style_samples.py "$img" > /dev/null
content=$img/chelsea.png
style=$img/immunohistochemistry.png
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
wargs=()
[[ -n "$weights" ]] && wargs=(--weights "$weights")
for size in 256 512; do
  for r in $(seq "$rounds"); do
    echo "size $size round $r/$rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    s=$("$build"/convkit style --content "$content" --style "$style" --size "$size" \
      --iters "$iters" --output "$img/out.png" --progress never --threads "$threads" \
      "${wargs[@]}" | sed -n 's/.*, \([0-9.]*\) s\/iteration.*/\1/p')
    echo "convkit $size $s"
    # PyTorch at its best here: OpenBLAS with its own core detection, glibc huge pages.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
      /usr/bin/python3 bench/style_torch.py --content "$content" --style "$style" --size "$size" \
      --iters "$iters" --threads "$threads" "${wargs[@]}"
  done
done
