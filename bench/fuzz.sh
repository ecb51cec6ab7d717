#!/usr/bin/env bash
# Bounded libFuzzer campaign over lsekit's input validation (issue 6): the HDF5 readers
# (tests/fuzz/fuzz_h5_readers.cpp: file_format, read_dataset, read_ot_instance, read_h5doc)
# and the --config parser of `lsekit solve` (tests/fuzz/fuzz_config.cpp).
#
# usage: bash bench/fuzz.sh [SECONDS]     (default 480: 3/4 on the readers, 1/4 on the config)
#
# Needs clang and libFuzzer (Debian: clang, libclang-rt-14-dev; installed here if missing,
# never by CI). Builds build-fuzz/ with clang, -O1, -fsanitize=fuzzer-no-link,address,undefined
# (one job), seeds the corpora with the hostile corpus (tests/hostile/make_hostile.py) and with
# valid files written by `lsekit gen` / `lsekit solve`, runs each target on one core and prints
# executions and findings. Crashing or hanging inputs land in build-fuzz/fuzz-work/artifacts/
# and are replayed on their own at the end; each one that reproduces must become a file in
# tests/hostile/fuzz_crashes/ (a hostile-corpus case) and be fixed. Never run by CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
total="${1:-480}"
build="${LSEKIT_FUZZ_BUILD_DIR:-$root/build-fuzz}"

missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Fuzz -DLSEKIT_FUZZ=ON \
  -DLSEKIT_BUILD_TESTS=OFF -DLSEKIT_NATIVE=OFF \
  -DCMAKE_C_FLAGS="-O1 -g $san" -DCMAKE_CXX_FLAGS="-O1 -g $san -fsanitize=fuzzer-no-link" \
  -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$build" -j 1 --target fuzz_h5_readers fuzz_config lsekit

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
# The readers reject a file on which libhdf5 hangs after the structure probe's limit: keep it
# well below libFuzzer's -timeout so that only a real hang counts as one.
export LSEKIT_H5_PROBE_SECONDS=5
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
lsekit="$build/tools/lsekit"
work="$build/fuzz-work"
rm -rf "$work" && mkdir -p "$work"/{h5,config,seeds,artifacts}

# ---- seed corpora ------------------------------------------------------------------------
/usr/bin/python3 "$root/tests/hostile/make_hostile.py" "$work/seeds" >/dev/null
(
  cd "$work/seeds"
  "$lsekit" gen regression --out gen_reg.h5 --n 30 --p 3 --n-test 10 --seed 1 >/dev/null
  "$lsekit" gen classification --out gen_cls.h5 --n 30 --p 3 --classes 3 --n-test 10 --noise 0.1 \
    --seed 2 >/dev/null
  "$lsekit" gen ot --out gen_ot.h5 --n 40 --n-test 5 --m 4 --d 2 --seed 3 >/dev/null
  "$lsekit" solve gen_reg.h5 --solver softplus --epochs 1 --batch 5 --eval-points 2 --out res_reg.h5 -q >/dev/null
  "$lsekit" solve gen_ot.h5 --solver full --out res_ot.h5 -q >/dev/null
  printf 'solver = erm\nepochs = 1\nbatch = 10\nstep = 0.1\nlambda = 2\n' >valid.ini
  printf 'solver = softplus\nrho = 1e-3\noptimizer = nesterov\nschedule = inv-sqrt\nthreads = 1\n' >valid2.ini
)
find "$work/seeds" -maxdepth 1 -type f -name '*.h5' -size -32k -exec cp {} "$work/h5/" \;
find "$work/seeds" -maxdepth 1 -type f -name '*.ini' -exec cp {} "$work/config/" \;

# ---- dictionaries: the names the readers look for, the option names -----------------------
{
  for w in format format_version task num_classes epsilon cost lsekit-dataset lsekit-ot \
    lsekit-result regression classification sqeuclidean train test source target X y b Y \
    X_test y_clean group solution weights intercept potential runs lambda l2; do
    printf '"%s"\n' "$w"
  done
  printf '"\\x89HDF\\x0d\\x0a\\x1a\\x0a"\n"TREE"\n"HEAP"\n"SNOD"\n"OHDR"\n"OCHK"\n"FRHP"\n"BTHD"\n'
} >"$work/h5.dict"
{
  "$lsekit" solve --help | grep -oE -- '--[a-z0-9-]+' | sort -u | sed 's/^--//' |
    while read -r o; do printf '"%s = "\n' "$o"; done
  printf '"="\n"\\x0a"\n"["\n"]"\n"#"\n"nan"\n"inf"\n"-1"\n"1e308"\n"0x"\n'
} >"$work/config.dict"

# ---- campaign ----------------------------------------------------------------------------
t_h5=$((total * 3 / 4))
t_cfg=$((total - t_h5))
run() {  # target seconds corpus dict max_len
  # libFuzzer stops at a finding: restart it (the finding saved, the corpus kept) until the
  # time is used up, and add up the executions of every run.
  local target="$1" secs="$2" corpus="$3" dict="$4" max_len="$5"
  local end=$((SECONDS + secs)) execs=0 runs=0 left n
  while [ $((left = end - SECONDS)) -gt 0 ] && [ "$runs" -lt 50 ]; do
    runs=$((runs + 1))
    (
      cd "$work"
      "$build/tests/fuzz/$target" "$corpus" -dict="$dict" -max_total_time="$left" -max_len="$max_len" \
        -timeout=30 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target-" >"$work/$target.$runs.log" 2>&1
    ) || true
    n="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/$target.$runs.log" | grep -oE '[0-9]+$' || true)"
    execs=$((execs + ${n:-0}))
  done
  echo "fuzz: $target: $execs executions in ${secs}s ($runs run(s)), $(find "$work/artifacts" -name "$target-*" | wc -l)" \
    "finding(s); corpus $(find "$corpus" -type f | wc -l) inputs; logs $work/$target.*.log"
}
run fuzz_h5_readers "$t_h5" "$work/h5" "$work/h5.dict" 32768
run fuzz_config "$t_cfg" "$work/config" "$work/config.dict" 4096

# ---- triage: replay every finding on its own ---------------------------------------------
# A "crash" artifact can come from the readers' forked structure probe (data/h5.cpp): libFuzzer's
# handlers live on in the child, so a libhdf5 crash inside the probe writes an artifact although
# lsekit itself survives it and reports the file as corrupt. Replaying the input in a fresh
# process tells the two apart: a finding counts only if the replay fails too.
real=0 survived=0
for a in "$work"/artifacts/*; do
  [ -e "$a" ] || continue
  target="$(basename "$a")"
  target="${target%%-*}"
  if (cd "$work" && timeout -k 5 120 "$build/tests/fuzz/$target" -timeout=60 "$a" >"$a.replay.log" 2>&1); then
    survived=$((survived + 1))
    mv "$a" "$work/artifacts/survived-$(basename "$a")"
  else
    real=$((real + 1))
    echo "fuzz: REPRODUCES: $a (log $a.replay.log): add it to tests/hostile/fuzz_crashes/ and fix it"
  fi
done
echo "fuzz: $real finding(s) reproduce; $survived artifact(s) from the forked probe that lsekit survives"
[ "$real" -eq 0 ]
