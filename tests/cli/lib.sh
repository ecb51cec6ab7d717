# Shared helpers of the command-line test scripts, sourced with the script's own arguments
# LSEKIT WORKDIR: sets LSEKIT and PY, recreates WORK empty and makes it the working directory.
# Each check adds to $pass or $fail (expect, no_file, same, killed_resume, interrupted_resume);
# a script ends with `echo "NAME: $pass passed, $fail failed"` and exits 1 on failure.
LSEKIT="$1"
WORK="$2"
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# A library text that reached the terminal untranslated: an option field in backquotes
# (`rho`, `batch=64`), which the command line prints as a flag (tools/solver_cli.hpp).
LIBRARY_WORDING='`[a-z][a-z0-9_]*(=[^`]*)?`'

# expect CODE PATTERN -- command...   (PATTERN: extended regex that stderr+stdout must match;
# the output must name options by flag: `lsekit info`, which shows files as stored, and the
# --help texts, which quote names of their own, aside)
expect() {
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [ "$rc" -ne "$code" ]; then
    bad "exit $rc (want $code): $* :: $out"
    return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$out"; then
    bad "output of '$*' does not match /$pattern/ :: $out"
    return
  fi
  if [[ " $* " != *" info "* && " $* " != *" --help "* ]] && grep -Eq -- "$LIBRARY_WORDING" <<<"$out"; then
    bad "output of '$*' names an option by its field, not its flag :: $out"
    return
  fi
  ok
}
no_file() { if [ -e "$1" ]; then bad "file $1 exists but must not"; else ok; fi; }

# wait_for_file FILE PID [TIMEOUT_S]: for a run started in the background, waits until FILE
# exists (returns 0) -- e.g. its first checkpoint, which proves the run is inside its step loop
# and has its signal handlers installed -- or until the process PID has ended or TIMEOUT_S
# seconds (default 300) have passed (returns 1). Signals are sent only after this returns 0,
# never after a fixed sleep: a sleep is too short under load and too long on a fast machine.
wait_for_file() {
  local file="$1" pid="$2" deadline=$((SECONDS + ${3:-300}))
  while [ ! -e "$file" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      [ -e "$file" ]
      return
    fi
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}

# wait_for_line FILE PATTERN PID [TIMEOUT_S]: like wait_for_file, until a line of FILE (the
# background run's redirected stderr, e.g. its first progress line) matches the extended
# regex PATTERN.
wait_for_line() {
  local file="$1" pattern="$2" pid="$3" deadline=$((SECONDS + ${4:-300}))
  until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      grep -Eq -- "$pattern" "$file" 2>/dev/null
      return
    fi
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}
# as_other CMD...: runs CMD as an unprivileged user (nobody) when the tests run as root, who can
# write anywhere, so that "permission denied" can be tested; as the user otherwise.
as_other() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}
# wait_for FILE PATTERN PID: wait_for_line with a 120 s limit.
wait_for() { wait_for_line "$1" "$2" "$3" 120; }
# no_match PATTERN TEXT: TEXT must not match PATTERN (extended regex).
no_match() { if grep -Eq -- "$1" <<<"$2"; then bad "output matches /$1/ but must not :: $2"; else ok; fi; }

# same A.h5 B.h5: every dataset equal bit for bit (NaN = NaN), wall-clock times excepted.
same() {
  if $PY - "$1" "$2" <<'EOF'; then ok; else bad "$1 and $2 differ"; fi
import sys, h5py, numpy as np
def load(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        attrs = {k: f.attrs[k] for k in ("status", "steps_done", "objective", "rho")}
    return out, attrs
(a, aa), (b, ba) = load(sys.argv[1]), load(sys.argv[2])
bad = sorted(set(a) ^ set(b))
bad += [k for k in a if k in b and not k.endswith("time_s")
        and (a[k].dtype != b[k].dtype or a[k].shape != b[k].shape
             or a[k].tobytes() != b[k].tobytes())]
bad += [k for k in aa if str(aa[k]) != str(ba[k])]
if bad:
    print("differ:", bad, file=sys.stderr)
    sys.exit(1)
if len(a) < 5 or "trace/objective" not in a:
    print("too few datasets:", sorted(a), file=sys.stderr)
    sys.exit(1)
EOF
}

# killed_resume NAME INPUT EVERY OPTIONS...: reference run, a run killed with SIGKILL once its
# first checkpoint exists, the resumed run; the two results must be identical.
killed_resume() {
  local name="$1" input="$2" every="$3"
  shift 3
  "$LSEKIT" solve "$input" --out "$name.ref.h5" -q "$@" >/dev/null 2>&1 || {
    bad "$name: the reference run failed"
    return
  }
  "$LSEKIT" solve "$input" --out "$name.run.h5" -q --checkpoint-every "$every" "$@" >/dev/null 2>&1 &
  local pid=$!
  if ! wait_for_file "$name.run.h5.checkpoint.h5" "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null
    bad "$name: no checkpoint $name.run.h5.checkpoint.h5 appeared (exit $?): make the run longer"
    return
  fi
  kill -KILL "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
  local rc=$?
  if [ "$rc" -ne 137 ]; then
    bad "$name: the run ended (exit $rc) before it could be killed: make it longer"
    return
  fi
  no_file "$name.run.h5"
  expect 0 "wrote $name.run.h5" -- "$LSEKIT" solve "$input" --out "$name.run.h5" -q --checkpoint-every \
    "$every" --resume "$name.run.h5.checkpoint.h5" "$@"
  same "$name.ref.h5" "$name.run.h5"
  no_file "$name.run.h5.checkpoint.h5"  # removed once the run has reached its end
}

# interrupted_resume NAME INPUT EVERY ARGS...: runs `solve INPUT ARGS` to NAME.ref.h5, then again
# to NAME.h5 with --checkpoint-every EVERY in the background, and sends SIGINT once its first
# checkpoint exists (the run is then in its step loop with its handler installed: never a race).
# The run must exit 130 with status `interrupted`, name its checkpoint in its output, and
# resuming from it must end bitwise identical to NAME.ref.h5.
interrupted_resume() {
  local name="$1" input="$2" every="$3"
  shift 3
  "$LSEKIT" solve "$input" --out "$name.ref.h5" -q "$@" >/dev/null 2>&1
  "$LSEKIT" solve "$input" --out "$name.h5" -q --checkpoint-every "$every" "$@" >"$name.log" 2>&1 &
  local pid=$!
  if ! wait_for_file "$name.h5.checkpoint.h5" "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    bad "$name: SIGINT: no checkpoint $name.h5.checkpoint.h5 appeared before the run ended :: $(cat "$name.log")"
    return
  fi
  kill -INT "$pid"
  wait "$pid"
  local rc=$?
  if [ "$rc" -eq 130 ] && grep -q "resume $name.h5.checkpoint.h5" "$name.log" &&
    $PY -c "import h5py,sys; sys.exit(h5py.File('$name.h5')['/'].attrs['status'] != 'interrupted')"; then
    ok
    expect 0 "wrote $name.h5" -- "$LSEKIT" solve "$input" --out "$name.h5" -q --checkpoint-every "$every" \
      --resume "$name.h5.checkpoint.h5" "$@"
    same "$name.ref.h5" "$name.h5"
  else
    bad "$name: SIGINT: exit $rc (want 130) or no checkpoint named :: $(cat "$name.log")"
  fi
}
