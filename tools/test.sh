#!/usr/bin/env bash
# Sets up and builds lsekit (tools/setup.sh), then runs the whole test suite with ctest; then
# builds the tests again with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
# (-O1, no -march=native, the same flags for every target) and runs the fast tests there:
# every Catch2 test and the command-line scripts, hostile-input corpus included. Any sanitizer
# report fails its test (halt_on_error, -fno-sanitize-recover=all, exit code 86).
# LSEKIT_SANITIZE=0 skips the sanitizer pass; extra arguments go to both ctest runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
(cd "${LSEKIT_BUILD_DIR:-$root/build}" && ctest --output-on-failure -j 2 "$@")
[ "${LSEKIT_SANITIZE:-1}" = 0 ] && exit 0

asan="${LSEKIT_ASAN_BUILD_DIR:-$root/build-asan}"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Sanitize -DLSEKIT_NATIVE=OFF \
  -DCMAKE_C_FLAGS="-O1 -g1 -DNDEBUG $san" -DCMAKE_CXX_FLAGS="-O1 -g1 -DNDEBUG $san" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$asan" -j "$(nproc)" --target lsekit lsekit_tests lsekit_nomalloc_tests
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=86:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
(cd "$asan" && ctest --output-on-failure -j 2 "$@")
