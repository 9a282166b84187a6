#!/usr/bin/env bash
# Training throughput on a busy machine: convkit and PyTorch, each quiet and then beside one
# competing busy process, in one run (issue 16 item 13). convkit runs with the wait policy its CLI
# picks (OMP_WAIT_POLICY=passive, tools/convkit/wait_policy.cpp) and, for contrast, with libgomp's
# default; PyTorch with its defaults and glibc huge pages.
#   bench/busy_compare.sh [threads=2] [steps=20] [model=resnet20]
# Prints img/s for each case and the busy/quiet ratio. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
steps=${2:-20}
model=${3:-resnet20}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE OMP_WAIT_POLICY GOMP_SPINCOUNT
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVKIT_BUILD_BENCH=ON \
  -DCONVKIT_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build build-bench --target bench_train -j"$threads" > /dev/null
export OMP_NUM_THREADS=$threads
# PyTorch's best on Debian: OpenBLAS (the reference BLAS makes its Linear layers ~50x slower).
if ! readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu | grep -q openblas; then
  echo "busy_compare: PyTorch would use the reference BLAS; apt-get install libopenblas0-openmp" >&2
  exit 1
fi

ck() { build-bench/bench/bench_train "$model" "$steps" 128 | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["train_img_s"])'; }
pt() { GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 bench/train_torch.py "$model" --steps "$steps" --threads "$threads" | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["train_img_s"])'; }
measure() {  # prints: convkit-passive convkit-default pytorch
  echo "$(OMP_WAIT_POLICY=passive ck) $(ck) $(pt)"
}

read -r q_pass q_def q_pt <<< "$(measure)"
python3 -c 'while True: pass' &
busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
sleep 1
read -r b_pass b_def b_pt <<< "$(measure)"
kill $busy

printf "%-32s %10s %10s %8s\n" "$model, $threads threads, batch 128" "quiet" "busy" "kept"
for row in "convkit (passive, the CLI's) $q_pass $b_pass" "convkit (libgomp default) $q_def $b_def" \
           "PyTorch (defaults) $q_pt $b_pt"; do
  read -r -a f <<< "$row"
  n=${#f[@]}
  name="${f[*]:0:n-2}"
  python3 -c "import sys; q, b = float(sys.argv[2]), float(sys.argv[3]); print('%-32s %10.1f %10.1f %7.0f%%' % (sys.argv[1], q, b, 100 * b / q))" "$name" "${f[n-2]}" "${f[n-1]}"
done
echo "(img/s of training steps; one busy process: python3 -c 'while True: pass'; kept = busy / quiet)"
