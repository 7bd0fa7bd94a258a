#!/usr/bin/env bash
# The daemon's HTTP API and schedules, on a real daemon (no routes, so no container):
# the bearer token, status codes and exact error bodies, limits and the read deadline,
# POST /v1/update running the configured policy with container names, 409 while it
# runs, /v1/status, /metrics through promtool with exact counters, a schedule faster
# than its policy (skipped runs), crashing and killed policies, SIGTERM with a run
# going on, config errors. The policies are tiny scripts written here.
source "$(dirname "$0")/lib.sh"
PORT=29471
BASE="http://127.0.0.1:$PORT"
command -v promtool >/dev/null || { echo "promtool is missing (Debian package prometheus; scripts/setup.sh)" >&2; exit 1; }

teardown() { [ -n "${dpid:-}" ] && kill -KILL "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null; }
trap teardown EXIT

(umask 077; openssl rand -hex 24 >"$T/token")
TOKEN=$(cat "$T/token")
AUTH="Authorization: Bearer $TOKEN"

# The update policy: records its arguments, reports each container as updated, and
# behaves as the files beside it say (so one config serves every case).
policy upd.lua "local engine = require 'claw.engine'
local dir = '$T'
local function has(f) local h = io.open(dir .. '/' .. f) if h then h:close() end return h ~= nil end
local f = assert(io.open(dir .. '/upd.args', 'w')) f:write(table.concat({ ... }, ' '), '\n') f:close()
print('updating', ...)
for i = 2, select('#', ...) do engine.report { kind = 'update', target = select(i, ...), outcome = 'succeeded' } end
engine.report { kind = 'check', target = 'x', outcome = 'update_available' }
if has('upd.sleep') then require('claw.time').sleep(30) end
if has('upd.exit1') then os.exit(1) end
if has('upd.error') then error('boom') end" >/dev/null
policy slow.lua "io.write('slow run\n') require('claw.time').sleep(2.5) print('slow run done')" >/dev/null
policy long.lua "require('claw.time').sleep(60)" >/dev/null

write_config() { # $1: extra YAML appended; $API_LISTEN: the API's addresses
  local listen=${API_LISTEN:-"[ \"127.0.0.1:$PORT\", \"[::1]:$PORT\" ]"}
  cat >"$T/daemon.yml" <<YML
admin: $T/admin.sock
state: $T/state/routes.json
drain_timeout: 5
api:
  listen: $listen
  token_file: $T/token
  healthz: true
  request_timeout: 1
  update:
    policy: ${UPDATE_POLICY:-$T/upd.lua}
    args: [ "--flag" ]
${1:-}
YML
}

start_daemon() {
  "$CLAW" daemon --config "$T/daemon.yml" >>"$T/daemon.log" 2>&1 &
  dpid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$BASE/healthz" && return 0; sleep 0.05; done
  echo "the daemon did not start:"; cat "$T/daemon.log"; exit 1
}

# req [CURL ARGS...]: sets $code, $body and $headers of one request.
req() {
  code=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 10 "$@")
  body=$(cat "$T/body")
  headers=$(tr -d '\r' <"$T/headers")
}
expect_code() { [ "$code" = "$1" ] || fail "HTTP $code, want $1 (body: $body)"; }
expect_body() { [ "$body" = "$1" ] || fail "body:
$body
want:
$1"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$body"; }

# wait_idle: until no run is going on (at most 10 s).
wait_idle() {
  for _ in $(seq 1 100); do
    req -H "$AUTH" "$BASE/v1/status"
    [ "$(json_get 'len(d["running"])')" = 0 ] && return 0
    sleep 0.1
  done
  fail "a run is still going on: $body"
}
metric() { curl -s -H "$AUTH" "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

check "config errors name the place and the reason; exit code 2"
printf 'schedules:\n  nightly:\n    cron: "0 25 * * *"\n    policy: x.lua\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: schedules.nightly.cron: hour field \"25\": 25 is out of range 0-23"
printf 'schedules:\n  nightly:\n    cron: "@daily"\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: schedules.nightly.policy: must be the path of a policy"
printf 'schedules:\n  nightly:\n    cron: "@daily"\n    policy: x.lua\n    when: now\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: schedules.nightly: unknown key \"when\""
printf 'api:\n  token_file: %s/none\n' "$T" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.token_file $T/none: No such file or directory"
printf 'api:\n  listen: "127.0.0.1:%s"\n' "$PORT" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.token_file: is required: the path of a file holding the bearer token"
cp "$T/token" "$T/open-token"; chmod 644 "$T/open-token"
printf 'api:\n  token_file: %s/open-token\n' "$T" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.token_file $T/open-token: other users can read or change it: chmod o-rw it (chmod 600)"
(umask 077; echo short >"$T/short-token")
printf 'api:\n  token_file: %s/short-token\n' "$T" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.token_file $T/short-token: the token is shorter than 16 characters (make one with: openssl rand -hex 32)"
(umask 077; { head -c 1022 /dev/zero | tr '\0' a; printf ' tail-that-was-cut'; } >"$T/long-token")
printf 'api:\n  token_file: %s/long-token\n' "$T" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.token_file $T/long-token: the token is longer than 1000 characters"
printf 'api:\n  token_file: %s/token\n  listen: [%s]\n' "$T" "$(seq -s, -f '"127.0.0.1:%g"' 30001 30017)" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: api.listen: must be an address or a list of 1 to 16 addresses"
ln -sf "$T/token" "$T/token-link"
printf 'api:\n  token_file: %s/token-link\n' "$T" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 0
done_check

write_config
rm -rf "$T/state"
start_daemon

check "the API's address in use: one message naming it, exit 1, the first daemon untouched"
printf 'admin: %s/admin2.sock\nstate: %s/state2/routes.json\napi:\n  listen: "127.0.0.1:%s"\n  token_file: %s/token\n' \
  "$T" "$T" "$PORT" "$T" >"$T/second.yml"
claw daemon --config "$T/second.yml"
expect_rc 1
expect_err_has "clawengine: api: cannot listen on 127.0.0.1:$PORT: Address already in use"
curl -s -o /dev/null "$BASE/healthz" || fail "the first daemon no longer answers"
done_check

check "the token: missing or wrong is 401 with WWW-Authenticate; right is 200"
req "$BASE/v1/status"
expect_code 401
expect_body '{"error":"a bearer token is required (Authorization: Bearer TOKEN)"}'
grep -qx 'WWW-Authenticate: Bearer realm="clawengine"' <<<"$headers" || fail "headers: $headers"
req -H "Authorization: Bearer ${TOKEN}x" "$BASE/metrics"
expect_code 401
expect_body '{"error":"the bearer token is wrong"}'
grep -qx 'WWW-Authenticate: Bearer realm="clawengine", error="invalid_token"' <<<"$headers" || fail "headers: $headers"
req -H "Authorization: Basic $TOKEN" "$BASE/v1/status"
expect_code 401
req -H "$AUTH" "$BASE/v1/status"
expect_code 200
grep -qx 'Connection: close' <<<"$headers" || fail "headers: $headers"
grep -qx 'Content-Type: application/json' <<<"$headers" || fail "headers: $headers"
req -g -H "$AUTH" "http://[::1]:$PORT/v1/status"
expect_code 200
grep -q "api: 127.0.0.1:[0-9]*: 401 GET /metrics: wrong bearer token" "$T/daemon.log" || fail "401 not logged"
done_check

check "/healthz answers without a token (healthz: true)"
req "$BASE/healthz"
expect_code 200
expect_body '{"status":"ok"}'
req -X POST "$BASE/healthz"
expect_code 405
done_check

check "404, 405, 400, 413, 431 with JSON bodies"
req -H "$AUTH" "$BASE/nope"
expect_code 404
expect_body '{"error":"no endpoint /nope (see docs/http-api.md)"}'
req "$BASE/nope"
expect_code 401
req -H "$AUTH" "$BASE/v1/update"
expect_code 405
expect_body '{"error":"only POST is allowed here"}'
grep -qx 'Allow: POST' <<<"$headers" || fail "headers: $headers"
req -X POST -H "$AUTH" "$BASE/v1/update?image=x"
expect_code 400
expect_body '{"error":"unknown parameter \"image\" (only container=NAME)"}'
req -X POST -H "$AUTH" "$BASE/v1/update?container=../etc"
expect_code 400
expect_body '{"error":"\"../etc\" is not a container name"}'
req -X POST -H "$AUTH" "$BASE/v1/update?container="
expect_code 400
expect_body '{"error":"\"\" is not a container name"}'
req -X POST -H "$AUTH" "$BASE/v1/update?container=web,,db"
expect_code 400
expect_body '{"error":"\"\" is not a container name"}'
req -X POST -H "$AUTH" --data-binary '{"containers":[]}' "$BASE/v1/update"
expect_code 400
expect_body '{"error":"\"containers\" is empty: name one at least, or send no body"}'
req -X POST -H "$AUTH" --data-binary '{"containers":"web"}' "$BASE/v1/update"
expect_code 400
expect_body '{"error":"the body must be JSON: {\"containers\": [\"name\", ...]}"}'
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
req -X POST -H "$AUTH" --data-binary @"$T/big" "$BASE/v1/update"
expect_code 413
expect_body '{"error":"the request body is larger than 64 KiB"}'
req -H "$AUTH" -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)" "$BASE/v1/status"
expect_code 431
expect_body '{"error":"the request line and headers are longer than 8 KiB"}'
done_check

check "a client that sends its request too slowly is answered 408 at the deadline"
out=$(python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
data = b""
while True:
    try:
        s.sendall(b"X: y\r\n")
    except OSError:
        break
    chunk = b""
    s.settimeout(0.2)
    try:
        chunk = s.recv(4096)
    except socket.timeout:
        pass
    if chunk:
        data += chunk
        while True:
            more = s.recv(4096)
            if not more:
                break
            data += more
        break
    if time.monotonic() - t0 > 5:
        break
print(data.split(b"\r\n")[0].decode(), round(time.monotonic() - t0))
PY
)
[ "$out" = "HTTP/1.1 408 Request Timeout 1" ] || fail "slow client: $out"
[ "$(curl -s "$BASE/healthz")" = '{"status":"ok"}' ] || fail "not serving after a slow client"
done_check

check "POST /v1/update runs the update policy with the container names; 409 while it runs"
req -X POST -H "$AUTH" "$BASE/v1/update?container=web&container=db,api"
expect_code 202
run1=$(json_get 'd["run"]')
expect_body "{\"run\":$run1,\"policy\":\"$T/upd.lua\",\"containers\":[\"web\",\"db\",\"api\"]}"
wait_idle
[ "$(cat "$T/upd.args")" = "--flag web db api" ] || fail "args: $(cat "$T/upd.args")"
grep -q "run update#$run1: updating	--flag	web	db	api" "$T/daemon.log" || fail "output not logged"
touch "$T/upd.sleep"
req -X POST -H "$AUTH" -H 'Content-Type: application/json' --data '{"containers":["cache"]}' "$BASE/v1/update"
expect_code 202
run2=$(json_get 'd["run"]')
[ "$run2" = $((run1 + 1)) ] || fail "run ids $run1 then $run2"
req -X POST -H "$AUTH" "$BASE/v1/update"
expect_code 409
expect_body "{\"error\":\"an update run is going on already (run $run2)\",\"run\":$run2}"
req -H "$AUTH" "$BASE/v1/status"
[ "$(json_get 'd["running"][0]["id"], d["running"][0]["targets"]')" = "$run2 ['cache']" ] || fail "status: $body"
pid=$(json_get 'd["running"][0]["pid"]')
rm "$T/upd.sleep"
kill -KILL "$pid"   # a policy killed by a signal
wait_idle
done_check

check "crashing policies: exit 1, a Lua error; the daemon goes on serving"
touch "$T/upd.exit1"
req -X POST -H "$AUTH" "$BASE/v1/update"
expect_code 202
wait_idle
rm "$T/upd.exit1"; touch "$T/upd.error"
req -X POST -H "$AUTH" "$BASE/v1/update"
expect_code 202
wait_idle
rm "$T/upd.error"
req "$BASE/healthz"
expect_code 200
req -H "$AUTH" "$BASE/v1/status"
got=$(json_get '" ".join("%s:%s:%s" % (r["id"], r["result"], r["exit_code"]) for r in d["runs"])')
[ "$got" = "$run1:succeeded:0 $run2:killed:137 $((run2 + 1)):failed:1 $((run2 + 2)):failed:3" ] || fail "runs: $got"
[ "$(json_get 'd["routes"], d["update"]["policy"], d["stopping"]')" = "[] $T/upd.lua False" ] || fail "status: $body"
done_check

check "/metrics: promtool accepts it; exact counters after these runs"
curl -s -H "$AUTH" "$BASE/metrics" >"$T/metrics"
promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1 || fail "promtool: $(cat "$T/promtool")"
[ "$(metric 'clawengine_update_runs_started_total{trigger="api"}')" = 4 ] || fail "started: $(cat "$T/metrics")"
[ "$(metric 'clawengine_update_runs_finished_total{trigger="api",exit_code="0"}')" = 1 ] || fail "finished 0"
[ "$(metric 'clawengine_update_runs_finished_total{trigger="api",exit_code="137"}')" = 1 ] || fail "finished 137"
[ "$(metric 'clawengine_update_runs_finished_total{trigger="api",exit_code="1"}')" = 1 ] || fail "finished 1"
[ "$(metric 'clawengine_update_runs_finished_total{trigger="api",exit_code="3"}')" = 1 ] || fail "finished 3"
[ "$(metric 'clawengine_updates_total{outcome="succeeded"}')" = 4 ] || fail "updates: $(grep updates_total "$T/metrics")"
[ "$(metric 'clawengine_checks_total')" = 4 ] || fail "checks"
[ "$(metric 'clawengine_updates_found_total')" = 4 ] || fail "found"
[ "$(metric 'clawengine_update_runs_running')" = 0 ] || fail "running"
grep -qx '# TYPE clawengine_route_connections_active gauge' "$T/metrics" || fail "no route gauge"
grep -qx 'Content-Type: text/plain; version=0.0.4; charset=utf-8' < <(curl -s -D - -o /dev/null -H "$AUTH" "$BASE/metrics" | tr -d '\r') || fail "content type"
done_check

check "a reload that keeps one of the API's addresses and drops the other"
API_LISTEN="[ \"127.0.0.1:$PORT\" ]" write_config
kill -HUP "$dpid"
sleep 0.3
req -H "$AUTH" "$BASE/v1/status"
expect_code 200
curl -s -o /dev/null "http://[::1]:$PORT/healthz" && fail "still listening on [::1]:$PORT"
grep -q "reload: the API stays where it was" "$T/daemon.log" && fail "the reload was refused: $(grep 'reload: the API' "$T/daemon.log")"
write_config
kill -HUP "$dpid"
sleep 0.3
curl -s -o /dev/null "http://[::1]:$PORT/healthz" || fail "not listening on [::1]:$PORT again"
done_check

check "a missing policy file: 500 and a log line; the daemon goes on"
UPDATE_POLICY=$T/missing.lua write_config
kill -HUP "$dpid"
sleep 0.3
req -X POST -H "$AUTH" "$BASE/v1/update"
expect_code 500
expect_body "{\"error\":\"the update run could not be started: policy $T/missing.lua: No such file or directory\"}"
grep -q "api: update run not started: policy $T/missing.lua: No such file or directory" "$T/daemon.log" || fail "not logged"
[ "$(metric 'clawengine_update_runs_refused_total{trigger="api"}')" = 1 ] || fail "refused not counted"
UPDATE_POLICY=rollng write_config # a stock policy's name, misspelt
kill -HUP "$dpid"
sleep 0.3
req -X POST -H "$AUTH" "$BASE/v1/update"
expect_code 500
expect_body "{\"error\":\"the update run could not be started: policy rollng: no such file, nor a stock policy of that name\"}"
done_check

check "a schedule faster than its policy: skipped runs in /metrics and in schedule list"
write_config "schedules:
  fast:
    cron: \"@every 1s\"
    policy: $T/slow.lua"
kill -HUP "$dpid"
sleep 5
skipped=$(metric 'clawengine_scheduled_runs_skipped_total{schedule="fast"}')
[ "${skipped:-0}" -ge 2 ] || fail "skipped: $skipped"
started=$(metric 'clawengine_update_runs_started_total{trigger="schedule"}')
[ "${started:-0}" -ge 1 ] && [ "$started" -le 2 ] || fail "scheduled runs started: $started"
claw schedule list
expect_rc 0
grep -qE "^fast +@every 1s +local +[0-9-]+ [0-9:]+, [0-9-]+ [0-9:]+, [0-9-]+ [0-9:]+ +.+ +[0-9]+ +(#[0-9]+|-)$" <<<"$out" || fail "schedule list: $out"
claw schedule list --json
expect_rc 0
[ "$(python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(s["name"], s["cron"], len(s["next"]), s["skipped"] >= 2)' <<<"$out")" = "fast @every 1s 3 True" ] || fail "json: $out"
grep -q "schedule fast: skipped: run fast#[0-9]* is still going" "$T/daemon.log" || fail "skip not logged"
grep -q "run fast#[0-9]*: slow run done" "$T/daemon.log" || fail "scheduled output not logged"
# each line as the run writes it, not at its end: "slow run" before a skip it causes
grep -E "run fast#[0-9]+: slow run$|schedule fast: skipped" "$T/daemon.log" | head -n 1 | grep -q ": slow run$" ||
  fail "output logged only at the run's end: $(grep -E "run fast#|schedule fast" "$T/daemon.log" | head -n 4)"
done_check

check "SIGTERM with a run going on: the run is stopped, the daemon exits 0"
# a run that is sure to be going when SIGTERM comes, however slow the machine
write_config "schedules:
  fast:
    cron: \"@every 1s\"
    policy: $T/long.lua"
kill -HUP "$dpid"
long_running() { [ "$(json_get '[r["policy"].endswith("long.lua") for r in d["running"]]')" = "[True]" ]; }
for _ in $(seq 1 100); do
  req -H "$AUTH" "$BASE/v1/status"
  long_running && break
  sleep 0.1
done
long_running || fail "no run of long.lua: $body"
pid=$(json_get 'd["running"][0]["pid"]')
kill -TERM "$dpid"
wait "$dpid"
drc=$?
dpid=
[ "$drc" = 0 ] || fail "exit code $drc"
! kill -0 "$pid" 2>/dev/null || fail "the run's process $pid outlived the daemon"
grep -q "stopping: 1 run(s) to end" "$T/daemon.log" || fail "log: $(tail -5 "$T/daemon.log")"
grep -qE "run fast#[0-9]+ ended: interrupted, exit code 130" "$T/daemon.log" || fail "log: $(tail -5 "$T/daemon.log")"
done_check

check "runs survive a restart in /v1/status; clawengine history shows them"
write_config
start_daemon
req -H "$AUTH" "$BASE/v1/status"
[ "$(json_get 'd["runs"][0]["id"], d["runs"][0]["name"]')" = "$run1 update" ] || fail "status after restart: $body"
claw history update
expect_rc 0
[ "$(grep -c ' update  *run ' <<<"$out")" = 4 ] || fail "history: $out (stderr: $err)"
grep -qE " update +run +- +- +[0-9.]+s +killed \(exit 137\)$" <<<"$out" || fail "history: $out (stderr: $err)"
kill -TERM "$dpid"; wait "$dpid"; dpid=
done_check

check "the daemon's log has no sanitizer report (leaks, memory errors)"
! grep -q "Sanitizer" "$T/daemon.log" || fail "$(grep -A20 Sanitizer "$T/daemon.log" | head -40)"
done_check

finish
