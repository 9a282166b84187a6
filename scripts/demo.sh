#!/usr/bin/env bash
# The main job (README): installs dependencies, builds convkit, trains the default model
# (modern LeNet-5, 3 epochs) on Fashion-MNIST from the Debian package dataset-fashion-mnist and
# prints the test accuracy. Extra arguments go to `convkit train` (e.g. --model resnet20 --epochs 10).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" --target convkit_cli
build/convkit train --out runs/demo --overwrite "$@"   # the demo may run again: replace its run
