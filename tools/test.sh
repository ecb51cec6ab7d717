#!/usr/bin/env bash
# Sets up and builds lsekit (tools/setup.sh), then runs the whole test suite with ctest; then
# builds the tests again with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
# (-O1 -g1, -march=native like the Release build, the same flags for every target but
# Catch2's own main; only the targets its tests run: lsekit and lsekit_tests) and runs
# them there: every Catch2 test and the command-line scripts, hostile-input corpus included.
# The sanitizer pass leaves out
#  * the tests labelled `slow` (ctest -LE slow): the long convergence studies, tagged [slow] in
#    the Catch2 sources (tests/CMakeLists.txt). They repeat, over many seeds, steps or
#    instances, code paths that the other test cases run under the sanitizers too: in Release
#    they test convergence; under the sanitizers they would only add time;
#  * the allocation test (nomalloc:*), which is about Eigen's heap use, the install test and the
#    Python tests, which run in Release;
#  * cli_progress, whose run must outlast the one-second spacing of progress lines (8M steps,
#    14x slower under the sanitizers): SIGINT, the final checkpoint and resuming from it run
#    under the sanitizers in cli_checkpoint.
# The Release pass includes the install test: lsekit is installed to a temporary prefix and
# examples/cpp is built against it with find_package(lsekit) and with pkg-config
# (tests/install/run_install_test.sh).
# Any sanitizer report fails its test (halt_on_error, -fno-sanitize-recover=all, exit code 86;
# leaks inside libhdf5 are suppressed, see tests/lsan.supp).
# Every test runs with OMP_WAIT_POLICY=passive (set by the test registrations; see
# tests/CMakeLists.txt): ctest -j 2 runs two tests of 2 OpenMP threads each on 2 cores.
# LSEKIT_SANITIZE=0 skips the sanitizer pass; extra arguments go to both ctest runs.
# A compiler launcher is honoured from the environment (CMAKE_CXX_COMPILER_LAUNCHER=ccache, read
# by CMake when a build directory is first configured).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
(cd "${LSEKIT_BUILD_DIR:-$root/build}" && ctest --output-on-failure -j 2 "$@")
[ "${LSEKIT_SANITIZE:-1}" = 0 ] && exit 0

asan="${LSEKIT_ASAN_BUILD_DIR:-$root/build-asan}"
san="-O1 -g1 -DNDEBUG -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Sanitize -DLSEKIT_NATIVE=ON -DLSEKIT_BUILD_PYTHON=OFF \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$asan" -j "$(nproc)" --target lsekit lsekit_tests
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:exitcode=86:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
# The allocation test (nomalloc:*) checks Eigen's heap use, not memory safety: Release only.
# So do the install test (it installs and builds the example, nothing to sanitize) and the
# Python tests (the module is not built here). The convergence studies (label slow) too.
(cd "$asan" && ctest --output-on-failure -j 2 -LE slow -E '^(nomalloc:|lsekit_nomalloc_tests|install$|python:|cli_progress$)' "$@")
