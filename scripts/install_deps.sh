#!/usr/bin/env bash
# Installs every build and test dependency of convkit from Debian 12 packages (run as root).
#   scripts/install_deps.sh          build + test dependencies
#   scripts/install_deps.sh --bench  also PyTorch (the benchmark peer and golden-file oracle)
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          libdnnl-dev ocl-icd-opencl-dev opencl-headers zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev dataset-fashion-mnist
          libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3 python3-torch python3-numpy)
fi
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
