#!/usr/bin/env bash
# Set-up for a fresh Debian 12 machine: installs the Debian packages lsekit needs
# (only those missing), configures a Release build (-O3 -march=native) in build/
# and builds it, the Python module included (use it with PYTHONPATH=build/python).
# Idempotent: a second run only rebuilds what changed.
# A compiler launcher in the environment is used (e.g. CMAKE_CXX_COMPILER_LAUNCHER=ccache:
# CMake reads it when build/ is first configured).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(build-essential cmake pkg-config libeigen3-dev libhdf5-dev libboost-program-options-dev
          catch2 zlib1g-dev dataset-fashion-mnist python3-h5py python3-matplotlib
          python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "lsekit setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
build="${LSEKIT_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
