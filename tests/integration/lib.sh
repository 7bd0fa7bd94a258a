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

# Suites (test_*.sh) run side by side on one dockerd (ctest -j; scripts/test.sh runs
# two at a time), so each keeps to its own:
# - its own tags of the fixture images, $GW:v1, $GW:v2 ... (an update tags $GW:rollback
#   and $GW:stable, never the fixtures' clawtest/gateway), made afresh at each start;
# - its own admin socket and state folder (journals, history, backups);
# - in Docker, the names it gives what it creates start with one of $OWN (a regex
#   alternation the suite sets), and "nothing changed" compares those, with every
#   object outside the names the suites use (claw-it-*, clawit*, clawtest/*,
#   localhost:PORT/* of their registries).
SUITE=$(basename "$0" .sh)
SUITE=${SUITE#test_}
export GW=clawtest/$SUITE
export CLAWENGINE_ADMIN=$T/admin.sock CLAWENGINE_STATE_DIR=$T/statedir
drop_own_tags() {
  local tags
  tags=$(docker images --format '{{.Repository}}:{{.Tag}}' "$GW")
  [ -z "$tags" ] || docker rmi $tags >/dev/null 2>&1 || true
}
drop_own_tags
for tag in v1 v2 v3 never-healthy turns-unhealthy broken-api; do # (fixtures/gateway/build.sh)
  docker tag "clawtest/gateway:$tag" "$GW:$tag" || { echo "no fixture image clawtest/gateway:$tag" >&2; exit 1; }
done

# claw ARGS...: runs the engine; sets $rc, $out (stdout) and $err (stderr).
claw() {
  "$CLAW" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  out=$(cat "$T/out")
  err=$(cat "$T/err")
}

# claw with the pipe a daemon gives the runs it starts (engine.report writes to a
# pipe only); what the policy reported lands in $T/reports.
claw_reporting() {
  rm -f "$T/fifo" && mkfifo "$T/fifo"
  cat "$T/fifo" >"$T/reports" &
  local reader=$!
  CLAWENGINE_REPORT_FD=3 claw "$@" 3>"$T/fifo"
  wait $reader
}
# What the policy reported for the daemon's metrics, one line each.
reports() {
  python3 -c 'import json,sys
for l in sys.stdin: r=json.loads(l); print(r["kind"], r["target"], r["outcome"])' <"$T/reports"
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

# What Docker holds of this suite's and outside all suites' names: containers (name,
# id, state, image) and tagged images. Untagged images, and the containers the
# legacy builder runs for a Dockerfile's steps ("#(nop)"), come and go with other
# suites' builds.
docker_state() {
  : "${OWN:?the suite names its objects in OWN}"
  { docker ps -a --no-trunc --format '{{.Names}} {{.ID}} {{.State}} {{.Image}} {{.Command}}' |
      grep -v '#(nop)' | cut -d' ' -f1-4
    docker images -a --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep -v '^<none>:<none> '
  } | awk -v own="^($OWN|$GW:)" \
          -v suites='^(claw-it-|clawit|clawtest/|localhost:[0-9]+/)' '$1 ~ own || $1 !~ suites' | sort
}
snapshot() { docker_state >"$T/before"; }
expect_unchanged() {
  docker_state >"$T/after"
  diff -u "$T/before" "$T/after" >"$T/diff" || fail "Docker changed: $(cat "$T/diff")"
}

check() { current=$1; bad=0; check_t0=${EPOCHREALTIME//[!0-9]/}; }
done_check() {
  if [ "$bad" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  # (how long each check took: `finish` names the slowest, for whoever shortens the suite)
  local us=$(( ${EPOCHREALTIME//[!0-9]/} - check_t0 ))
  timings+=$(printf '%d.%d\t%s' $((us / 1000000)) $((us / 100000 % 10)) "$current")$'\n'
}

finish() {
  echo "$passed passed, $failed failed"
  printf '%s' "${timings:-}" | sort -rn | head -n 3 | awk -F'\t' '{ printf "slowest: %s s  %s\n", $1, $2 }'
  drop_own_tags
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

# wait_healthy NAME: until Docker says the container is healthy (10 s at most).
wait_healthy() {
  for _ in $(seq 1 100); do [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ] && return; sleep 0.1; done
}

# load_start DURATION URL [WRK_ARG...]: wrk in the background (2 threads, 16
# connections unless WRK_ARGs say otherwise); load_check [MIN] waits for it, prints
# its figures and fails on any socket error or non-2xx answer, or under MIN requests
# (default 1000).
load_start() {
  local duration=$1 url=$2
  shift 2
  cat >"$T/count.lua" <<'LUA'
done = function(s)
  local e = s.errors
  io.write(string.format("WRK %d %d %d (connect %d, read %d, write %d, timeout %d)\n", s.requests,
    e.connect + e.read + e.write + e.timeout, e.status, e.connect, e.read, e.write, e.timeout))
end
LUA
  wrk -t2 -c16 "$@" -d"$duration" -s "$T/count.lua" "$url" | sed -n 's/^WRK //p' >"$T/wrk" &
  wpid=$!
}
load_check() {
  local reqs sockerrs non2xx kinds
  wait "$wpid"
  read -r reqs sockerrs non2xx kinds <"$T/wrk"
  echo "$current: $reqs requests, $sockerrs socket errors, $non2xx non-2xx" >&2
  [ "${sockerrs:-1}" = 0 ] && [ "${non2xx:-1}" = 0 ] ||
    fail "failed requests: $sockerrs socket errors ${kinds:-} and $non2xx non-2xx of $reqs"
  [ "${reqs:-0}" -ge "${1:-1000}" ] || fail "only $reqs requests"
}

# crash_run STEP POLICY [ARG...]: runs the policy with CLAWENGINE_TEST_CRASH_AFTER=STEP
# (it kills itself with SIGKILL right after journaling STEP) and checks that it died
# so. Its output is in $T/out and $T/err.
crash_run() {
  local step=$1
  shift
  # (exit in the subshell, whose stderr is dropped, so that bash's "Killed" is too)
  ( CLAWENGINE_TEST_CRASH_AFTER=$step "$CLAW" run "$@" >"$T/out" 2>"$T/err"; exit $? ) 2>/dev/null
  rc=$?
  [ "$rc" = 137 ] || fail "exit code $rc, want 137 (killed after $step): $(cat "$T/err")"
}

# recover_check NAME STEP: after a crash_run of an update of NAME from v1 to v2 with
# --backup $T/cfg/app.json ({"v":1}), `clawengine recover` finishes the update when
# it was interrupted after "retire" (2.0.0 serves) and undoes it after any other step
# (1.0.0 serves), the config is {"v":1}, the test's own `only_one` holds, and a
# second recover has nothing to do. `version` is the test's (what the route serves).
recover_check() {
  local name=$1 step=$2
  claw recover
  expect_rc 0
  if [ "$step" = retire ]; then
    expect_out_has "$name: recovered: completed"
    [ "$(version)" = 2.0.0 ] || fail "serving $(version)"
  else
    expect_out_has "$name: recovered: rolled back (interrupted after ${step%@*})"
    [ "$(version)" = 1.0.0 ] || fail "serving $(version)"
  fi
  [ "$(cat "$T/cfg/app.json")" = '{"v":1}' ] || fail "config: $(cat "$T/cfg/app.json")"
  only_one
  claw recover
  expect_err "nothing to recover"
}

# What the app behind 127.0.0.1:$PORT says its version is.
version() { curl -s --max-time 5 "http://127.0.0.1:$PORT/version"; }

# web_route_config CONTAINER [MORE_YAML]: $T/daemon.yml with the route "web" on
# 127.0.0.1:$PORT to CONTAINER's port 18789, and MORE_YAML under routes:.
web_route_config() {
  cat >"$T/daemon.yml" <<YML
admin: $T/admin.sock
state: $T/routes.json
routes:
  web:
    listen: [ "127.0.0.1:$PORT" ]
    container: $1
    port: 18789
${2:-}
YML
}

# fresh_behind_route NAME [docker run args...]: a new v1 container NAME, healthy,
# serving the route "web" alone.
fresh_behind_route() {
  local name=$1
  shift
  cleanup_containers "$name"
  docker run -d --name "$name" "$@" "$GW:v1" >/dev/null
  wait_healthy "$name"
  "$CLAW" route add web "$name" >/dev/null 2>&1
  "$CLAW" route switch web "$name"
}
