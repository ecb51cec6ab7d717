#!/usr/bin/env bash
# usage: run_install_test.sh BUILD_DIR EXAMPLE_DIR [CXX]
# Installs the lsekit build in BUILD_DIR to a fresh temporary prefix, then builds and runs the
# example in EXAMPLE_DIR against that prefix only: with CMake's find_package(lsekit) and with
# pkg-config. The source tree is not on any include path.
set -euo pipefail
build="$(cd "$1" && pwd)"
example="$(cd "$2" && pwd)"
cxx="${3:-c++}"
prefix="$(mktemp -d "${TMPDIR:-/tmp}/lsekit-install.XXXXXX")"
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix/usr" >/dev/null
for f in include/lsekit/lsekit.hpp include/lsekit/solvers/solve.hpp lsekit/lsekitConfig.cmake \
         lsekit/lsekitConfigVersion.cmake pkgconfig/lsekit.pc liblsekit_tasks.a liblsekit_data.a \
         liblsekit_solvers.a bin/lsekit share/lsekit/lsekit_plot.py; do
  [ -n "$(find "$prefix/usr" -path "*/$f" -print -quit)" ] ||
    { echo "install: $f missing under the prefix" >&2; exit 1; }
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== find_package(lsekit)"
cmake -S "$example" -B "$prefix/build-cmake" -DCMAKE_PREFIX_PATH="$prefix/usr" \
  -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
cmake --build "$prefix/build-cmake" >/dev/null
"$prefix/build-cmake/dro_regression"

echo "== pkg-config"
PKG_CONFIG_PATH="$(dirname "$(find "$prefix/usr" -name lsekit.pc -print -quit)")"
export PKG_CONFIG_PATH
mkdir -p "$prefix/build-pc"
# shellcheck disable=SC2046
${CCACHE:-$(command -v ccache || true)} "$cxx" -O2 "$example/dro_regression.cpp" \
  -o "$prefix/build-pc/dro_regression" $(pkg-config --cflags --libs lsekit)
"$prefix/build-pc/dro_regression"
echo "install test: ok"
