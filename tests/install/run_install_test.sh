#!/usr/bin/env bash
# usage: run_install_test.sh BUILD_DIR EXAMPLE_DIR [CXX [SOURCE_DIR]]
# Installs the lsekit build in BUILD_DIR to a fresh temporary prefix, then builds and runs the
# example in EXAMPLE_DIR against that prefix only: with CMake's find_package(lsekit) and with
# pkg-config. The source tree is not on any include path. With SOURCE_DIR, also configures
# (without building) a parent project that uses lsekit as a subproject and checks that it sets
# no build type, puts no -march=native or warning flags on lsekit::lsekit and adds no tests.
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
if [ -n "${4:-}" ]; then
  echo "== add_subdirectory (configure only)"
  src="$(cd "$4" && pwd)"
  mkdir -p "$prefix/parent"
  cat >"$prefix/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(parent LANGUAGES CXX)
add_subdirectory("$src" lsekit)
get_target_property(opts lsekit_core INTERFACE_COMPILE_OPTIONS)
file(WRITE "\${CMAKE_BINARY_DIR}/report.txt" "type=[\${CMAKE_BUILD_TYPE}] opts=[\${opts}] tests=[\${LSEKIT_BUILD_TESTS}]")
add_executable(app "$example/dro_regression.cpp")
target_link_libraries(app PRIVATE lsekit::lsekit)
CMAKE
  cmake -S "$prefix/parent" -B "$prefix/parent/build" >/dev/null
  report="$(cat "$prefix/parent/build/report.txt")"
  echo "$report"
  [ "$report" = "type=[] opts=[opts-NOTFOUND] tests=[OFF]" ] ||
    { echo "install: lsekit as a subproject changes its parent: $report" >&2; exit 1; }
  if ctest --test-dir "$prefix/parent/build" -N 2>/dev/null | grep -q "Test *#"; then
    echo "install: lsekit as a subproject adds tests to its parent" >&2
    exit 1
  fi
fi
echo "install test: ok"
