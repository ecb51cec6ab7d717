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

# as_other CMD...: runs CMD as an unprivileged user (nobody) when the tests run as root, who can
# write anywhere, so that "permission denied" can be tested; as the user otherwise.
as_other() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}
# wait_for FILE PATTERN PID: waits (up to 120 s) until FILE has a line matching PATTERN -- the
# process reports it is ready -- or PID has ended. Returns 0 when the line appeared.
wait_for() {
  local file="$1" pattern="$2" pid="$3" i=0
  while [ $i -lt 12000 ]; do
    grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { grep -Eq -- "$pattern" "$file" 2>/dev/null; return; }
    sleep 0.01
    i=$((i + 1))
  done
  return 1
}
# no_match PATTERN TEXT: TEXT must not match PATTERN (extended regex).
no_match() { if grep -Eq -- "$1" <<<"$2"; then bad "output matches /$1/ but must not :: $2"; else ok; fi; }
