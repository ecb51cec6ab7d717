#!/usr/bin/env bash
# Hostile-input corpus (issue 6): generates every case with make_hostile.py in WORKDIR, then
# runs each `lsekit solve / eval / info` command of WORKDIR/cases.tsv under `timeout 60` and
# checks that
#   * the exit code is one the case accepts (2 invalid input, 3 I/O error; info may exit 0 on
#     a readable file) -- never 1, never a signal (crash), never a timeout (hang);
#   * stdout+stderr match the case's pattern, an extended regex (file, dataset path, problem
#     or option named);
#   * no sanitizer report was printed (AddressSanitizer / UndefinedBehaviorSanitizer);
#   * options are named by flag: no library text naming a field in backquotes (`rho`) leaked
#     (info aside: it shows files as stored);
#   * the output file named by the case does not exist and no *.tmp-* file is left behind.
# Files on which libhdf5 itself loops forever are rejected by lsekit's structure probe after
# LSEKIT_H5_PROBE_SECONDS (30 s by default; 3 s here).
# usage: run_hostile.sh LSEKIT WORKDIR [K/N]
#   K/N: run only the K-th of N interleaved shards of the cases (ctest runs shards in parallel).
# Prints 'N passed, N failed' last; exits 1 on any failure.
set -uo pipefail
LSEKIT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
WORK="$2"
shard="${3:-1/1}"
shard_k="${shard%/*}"
shard_n="${shard#*/}"
PY=/usr/bin/python3
export LSEKIT_H5_PROBE_SECONDS=3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
"$PY" "$here/make_hostile.py" "$WORK" || { echo "0 passed, 1 failed (generator)"; exit 1; }
cd "$WORK" || exit 1

pass=0
fail=0
bad() { fail=$((fail + 1)); printf 'FAIL %s: %s\n' "$id" "$*" >&2; }
library_wording='`[a-z][a-z0-9_]*(=[^`]*)?`'  # an option field as the library names it

line=0
while IFS=$'\t' read -r id codes pattern out args; do
  [ -z "$id" ] && continue
  line=$((line + 1))
  [ $(((line - 1) % shard_n)) -eq $((shard_k - 1)) ] || continue
  read -r -a argv <<<"$args"
  output="$(timeout -k 10 60 "$LSEKIT" "${argv[@]}" 2>&1)"
  rc=$?
  if [ "$rc" -eq 124 ]; then
    bad "timed out after 60 s: lsekit $args"
  elif [ "$rc" -gt 128 ]; then
    bad "killed by signal $((rc - 128)): lsekit $args :: ${output:0:2000}"
  elif [[ ",$codes," != *",$rc,"* ]]; then
    bad "exit $rc (want $codes): lsekit $args :: ${output:0:2000}"
  elif [[ $output == *Sanitizer* || $output == *"runtime error:"* ]]; then
    bad "sanitizer report: lsekit $args :: ${output:0:4000}"
  elif [[ $args != info* && $output =~ $library_wording ]]; then
    bad "an option named by its field, not its flag: lsekit $args :: ${output:0:2000}"
  elif ! [[ $output =~ $pattern ]]; then
    bad "output does not match /$pattern/: lsekit $args :: ${output:0:2000}"
  elif [ "$out" != "-" ] && [ -e "$out" ]; then
    bad "output file $out was written: lsekit $args"
  elif compgen -G '*.tmp-*' >/dev/null; then
    bad "temporary file left behind: $(compgen -G '*.tmp-*' | head -3 | tr '\n' ' ')"
    rm -f ./*.tmp-*
  else
    pass=$((pass + 1))
  fi
done <cases.tsv

echo "hostile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
