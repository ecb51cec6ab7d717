# Shared helpers of the command-line test scripts, sourced with the script's own arguments
# LSEKIT WORKDIR: sets LSEKIT and PY, recreates WORK empty and makes it the working directory.
# Each check adds to $pass or $fail; a script ends with
# `echo "NAME: $pass passed, $fail failed"` and exits 1 on failure.
LSEKIT="$1"
WORK="$2"
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect CODE PATTERN -- command...   (PATTERN: extended regex that stderr+stdout must match)
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
  ok
}
no_file() { if [ -e "$1" ]; then bad "file $1 exists but must not"; else ok; fi; }
