# Shared set-up of the published-claims reproductions (sourced by bench/claims/*.sh with the
# study name as argument). Builds lsekit through tools/setup.sh unless LSEKIT_SKIP_SETUP=1
# (then an existing build is used as is) and defines:
#   lsekit  the binary          out   build/bench-claims/<study>, created
#   jobs    runs in parallel for lsekit compare (LSEKIT_JOBS; default 0 = all cores)
#   PY      the python3 with h5py/numpy (and claims.py on its path)
#   geom A B N  prints N geometrically spaced values from A to B, comma-separated
claims_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$claims_dir/../.." && pwd)"
build="${LSEKIT_BUILD_DIR:-$root/build}"
[ "${LSEKIT_SKIP_SETUP:-0}" = 1 ] || bash "$root/tools/setup.sh"
lsekit="$build/tools/lsekit"
out="$build/bench-claims/$1"
mkdir -p "$out"
jobs="${LSEKIT_JOBS:-0}"
PY=/usr/bin/python3
export PYTHONPATH="$claims_dir${PYTHONPATH:+:$PYTHONPATH}"
geom() { "$PY" -c "import numpy as np, sys; a, b, n = sys.argv[1:]
print(','.join(f'{v:.4g}' for v in np.geomspace(float(a), float(b), int(n))))" "$1" "$2" "$3"; }
