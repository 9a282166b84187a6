#!/usr/bin/env bash
# Installs a configured convkit build into a scratch prefix and builds examples/train_cnn.cpp
# against the installed copy, outside the tree: with find_package(convkit) and with pkg-config.
#   scripts/install_test.sh BUILD_DIR        (BUILD_DIR: a configured and built tree, e.g. build)
# Exits non-zero when the install, either consumer build, or the installed CLI fails.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/install_test.sh BUILD_DIR}
work=$(mktemp -d "${TMPDIR:-/tmp}/convkit-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/convkit" --help >/dev/null
echo "install test: installed into $prefix, the CLI runs"

cmake -S tests/install -B "$work/cmake-consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" -DCONVKIT_EXAMPLE="$PWD/examples/train_cnn.cpp" >/dev/null
cmake --build "$work/cmake-consumer" >/dev/null
test -x "$work/cmake-consumer/train_cnn"
echo "install test: find_package(convkit) consumer built"

pcdir=$(dirname "$(find "$prefix" -name convkit.pc | head -1)")
libdir=$(dirname "$pcdir")
static=--static
ls "$libdir"/libconvkit.so >/dev/null 2>&1 && static=
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs $static convkit)
# shellcheck disable=SC2086  # the flags are words
c++ -O1 examples/train_cnn.cpp -o "$work/train_cnn_pc" $flags -Wl,-rpath,"$libdir"
test -x "$work/train_cnn_pc"
echo "install test: pkg-config consumer built (${static:-shared})"
