#!/usr/bin/env bash
# The main job (README): installs dependencies, builds, and trains a small CNN on Fashion-MNIST
# (Debian's dataset-fashion-mnist) with the library's ops, printing the test accuracy.
#   scripts/demo.sh [epochs]   (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)" --target fashion_mnist_cnn
./build/examples/fashion_mnist_cnn "${1:-2}"
