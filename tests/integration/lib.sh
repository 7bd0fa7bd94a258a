# Shared by the integration tests: run the engine, compare exact output and exit
# codes, and prove that nothing changed in Docker or on disk. Each test file sources
# this, calls `check NAME` blocks and ends with `finish`.
set -uo pipefail
CLAW=${CLAWENGINE:?set CLAWENGINE to the clawengine binary}
mkdir -p "${CLAW_TEST_TMP:-/tmp}"
T=$(mktemp -d "${CLAW_TEST_TMP:-/tmp}/it-XXXXXX")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0
failed=0
current=""

docker info >/dev/null 2>&1 || { echo "Docker is not running: these tests need it" >&2; exit 1; }

# claw ARGS...: runs the engine; sets $rc, $out (stdout) and $err (stderr).
claw() {
  "$CLAW" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  out=$(cat "$T/out")
  err=$(cat "$T/err")
}

fail() {
  echo "FAIL [$current] $*" >&2
  bad=1
}

expect_rc() { [ "$rc" = "$1" ] || fail "exit code $rc, want $1 (stderr: $err)"; }
expect_err() { [ "$err" = "$1" ] || fail "stderr:
$err
want:
$1"; }
expect_out() { [ "$out" = "$1" ] || fail "stdout:
$out
want:
$1"; }
expect_err_has() { grep -qF -- "$1" <<<"$err" || fail "stderr lacks \"$1\": $err"; }
expect_out_has() { grep -qF -- "$1" <<<"$out" || fail "stdout lacks \"$1\": $out"; }

# What Docker holds: containers (id, name, state, image) and images.
docker_state() {
  docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}} {{.Image}}' | sort
  docker images -a --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' | sort
}
snapshot() { docker_state >"$T/before"; }
expect_unchanged() {
  docker_state >"$T/after"
  diff -u "$T/before" "$T/after" >"$T/diff" || fail "Docker changed: $(cat "$T/diff")"
}

check() { current=$1; bad=0; }
done_check() {
  if [ "$bad" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

finish() {
  echo "$passed passed, $failed failed"
  rm -rf "$T"
  [ "$failed" = 0 ]
}

# policy NAME TEXT: writes a policy file into the scratch dir and prints its path.
policy() {
  printf '%s\n' "$2" >"$T/$1"
  echo "$T/$1"
}

# Removes test containers by name prefix, quietly.
cleanup_containers() {
  local ids
  ids=$(docker ps -aq --filter "name=$1")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
}

# interrupt_run MARKER POLICY [ARG...]: runs the policy in the background, waits until
# it prints MARKER (and 0.3 s more, so that it is blocked), sends SIGINT, and checks
# that it exits 130 at once (under 500 ms) saying "clawengine: interrupted".
interrupt_run() {
  local marker=$1 p=$2 pid t0 ms
  shift 2
  "$CLAW" run "$p" "$@" >"$T/out" 2>"$T/err" &
  pid=$!
  for _ in $(seq 50); do grep -q "$marker" "$T/out" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
  t0=$(date +%s%N)
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  out=$(cat "$T/out")
  err=$(cat "$T/err")
  expect_rc 130
  expect_out "$marker"
  expect_err "clawengine: interrupted"
  [ "$ms" -lt 500 ] || fail "exited ${ms} ms after SIGINT"
}
