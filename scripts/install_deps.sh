#!/usr/bin/env bash
# Installs every build and test dependency of convkit from Debian 12 packages (run as root).
#   scripts/install_deps.sh          build + test dependencies (PyTorch, torchvision, onnx and OpenCV's
#                                    Python modules are the test oracles: golden files made at test time)
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          libdnnl-dev ocl-icd-opencl-dev opencl-headers zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev dataset-fashion-mnist
          libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libjpeg-dev libpng-dev libwebp-dev libtiff-dev libcairo2-dev libcpp-httplib-dev libonnx-dev libprotobuf-dev
          python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-opencv
          python3-skimage  # sample photos for docs/style.md (scripts/style_samples.py)
          python3-scipy  # the pHash oracle (tests/test_duplicates.cpp)
          libopenmpi-dev openmpi-bin  # data-parallel training (docs/distributed.md)
          chromium  # the report page's check (scripts/check_report_chromium.sh)
          clang-format-14 clang libclang-rt-14-dev)  # CI checks: clang-format; fuzz targets (scripts/fuzz.sh): clang and its libFuzzer
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
