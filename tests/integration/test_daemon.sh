#!/usr/bin/env bash
# The traffic switch under load: switches, drains, dying and refusing backends, many
# connections, clients that never read, half-closes, idle timeouts, the admin
# protocol, restarts and config errors. Load goes to 127.0.0.1 only, bounded in time.
source "$(dirname "$0")/lib.sh"
NET="python3 $HERE/netclient.py"
PORT=28910

teardown() {
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  [ -n "${slow:-}" ] && kill "$slow" 2>/dev/null
  cleanup_containers claw-it-d-
}
trap teardown EXIT
cleanup_containers claw-it-d-
for c in a b; do docker run -d --name claw-it-d-$c -e APP_VERSION=$c $GW:v1 >/dev/null; done
for c in a b; do
  for _ in $(seq 1 50); do [ "$(docker inspect -f '{{.State.Health.Status}}' claw-it-d-$c)" = healthy ] && break; sleep 0.1; done
done

write_config() {
  cat >"$T/daemon.yml" <<YML
admin: $T/admin.sock
state: $T/state/routes.json
drain_timeout: 5
idle_timeout: ${IDLE:-600}
routes:
  gw:
    listen: [ "127.0.0.1:$PORT", "[::1]:$PORT" ]
    container: claw-it-d-a
    port: 18789
YML
}

# one_route_config NAME PORT CONTAINER: $T/NAME.yml, a daemon with its own state
# (under $T/NAME-state) and one route NAME on 127.0.0.1:PORT to CONTAINER's 18789.
one_route_config() {
  cat >"$T/$1.yml" <<YML
admin: $T/admin.sock
state: $T/$1-state/routes.json
routes:
  $1:
    listen: [ "127.0.0.1:$2" ]
    container: $3
    port: 18789
YML
}

start_daemon() {
  "$CLAW" daemon --config "$T/daemon.yml" >>"$T/daemon.log" 2>&1 &
  dpid=$!
  for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return 0; sleep 0.05; done
  echo "the daemon did not start:"; cat "$T/daemon.log"; exit 1
}

stop_daemon() {
  kill -TERM "$dpid"
  wait "$dpid"
  drc=$?
  dpid=
}


# wrk with a Lua script that counts non-2xx answers; prints "requests errors".
wrk_run() {
  cat >"$T/count.lua" <<'LUA'
local bad = 0
response = function(status) if status < 200 or status > 299 then bad = bad + 1 end end
done = function(summary)
  local e = summary.errors
  io.write(string.format("WRK %d %d\n", summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
LUA
  wrk -t2 -c"${2:-32}" -d"$1" ${WRK_HEADER:+-H "$WRK_HEADER"} -s "$T/count.lua" "http://127.0.0.1:$PORT/${3:-}" |
    sed -n 's/^WRK //p'
}

write_config
rm -rf "$T/state"

check "config errors are refused with the place"
claw daemon --config "$T/none.yml"
expect_rc 2
expect_err "clawengine: cannot read $T/none.yml: No such file or directory"
printf 'routes:\n  gw:\n    listen: [ "127.0.0.1:1"\n    port: 1\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml"
expect_rc 2
expect_err_has "clawengine: $T/bad.yml:4:"
printf 'routes:\n  gw:\n    listen: "127.0.0.1:1"\n    container: x\n    port: 70000\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: routes.gw.port: must be a port number from 1 to 65535"
printf 'routes:\n  gw:\n    listen: "nowhere"\n    container: x\n    port: 1\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: routes.gw.listen: invalid address \"nowhere\" (want host:port)"
printf 'route:\n  gw: {}\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: top level: unknown key \"route\""
printf 'routes:\n  "g w":\n    listen: "127.0.0.1:1"\n    container: x\n    port: 1\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: routes.g w: a route's name is a letter or digit, then letters, digits, '_', '.' and '-'"
printf 'routes:\n  a:\n    listen: "127.0.0.1:%s"\n    container: x\n    port: 1\n  b:\n    listen: "0.0.0.0:%s"\n    container: x\n    port: 1\n' $PORT $PORT >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: routes.b.listen: 0.0.0.0:$PORT takes the port of routes.a's 127.0.0.1:$PORT: a port serves one route"
printf 'admin: /tmp/%0120d\n' 0 >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: admin: must be a path shorter than 108 bytes"
claw daemon --config "$T" --check
expect_rc 2
expect_err "clawengine: cannot read $T: Is a directory"
printf 'schedules:\n  nightly:\n    cron: "0 4 * * *"\n    policy: %s\n' "$T/nope.lua" >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 2
expect_err "clawengine: $T/bad.yml: schedules.nightly.policy: $T/nope.lua: no such file, nor a stock policy of that name"
printf 'schedules:\n  nightly:\n    cron: "0 4 * * *"\n    policy: status\n' >"$T/bad.yml"
claw daemon --config "$T/bad.yml" --check
expect_rc 0
expect_out "$T/bad.yml: ok: 0 route(s), 1 schedule(s)"
printf 'admin: %s\nstate: /proc/claw-nope/routes.json\nroutes: {}\n' "$T/st.sock" >"$T/bad.yml"
claw daemon --config "$T/bad.yml"
expect_rc 1
expect_err "clawengine: cannot save route state to /proc/claw-nope/routes.json: cannot create /proc/claw-nope: No such file or directory"
[ -e "$T/st.sock" ] && fail "admin socket left behind"
claw daemon
expect_rc 2
expect_err "clawengine: daemon: --config FILE is required
Try 'clawengine daemon --help'."
claw daemon --config "$T/daemon.yml" --check --takeover
expect_rc 2
expect_err "clawengine: daemon: --check and --takeover do not go together
Try 'clawengine daemon --help'."
claw daemon --config "$T/daemon.yml" --check
expect_rc 0
expect_out "$T/daemon.yml: ok: 1 route(s), 0 schedule(s)"
done_check

start_daemon

check "route list shows the backend, its address and counters"
[ "$(version)" = a ] || fail "not served by a"
claw route list
expect_rc 0
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' claw-it-d-a)
grep -qE "^gw +[^ ]*127.0.0.1:$PORT[^ ]* +claw-it-d-a +$ip:18789 +100 +active +0 +[0-9]+ +0 +0 " <<<"$out" || fail "list: $out"
claw route list --json
expect_out_has '"container":"claw-it-d-a"'
[ "$(curl -sg --max-time 5 "http://[::1]:$PORT/version")" = a ] || fail "not served on IPv6"
done_check

check "switch under load fails 0 of at least 20,000 requests"
wrk_run 4s >"$T/wrk" &
w=$!
for _ in 1 2 3 4 5; do
  sleep 0.3; "$CLAW" route switch gw claw-it-d-b || fail "switch to b"
  sleep 0.3; "$CLAW" route switch gw claw-it-d-a || fail "switch to a"
done
wait $w
read -r reqs errs <"$T/wrk"
[ "${reqs:-0}" -ge 20000 ] || fail "only $reqs requests"
[ "${errs:-1}" = 0 ] || fail "$errs failed of $reqs"
echo "switch under load: $reqs requests, $errs failed" >&2
done_check

check "switch is atomic: the next connection goes to the new backend"
"$CLAW" route switch gw claw-it-d-b
for _ in 1 2 3 4 5; do [ "$(version)" = b ] || fail "a connection after the switch went elsewhere"; done
done_check

check "drain lets slow in-flight requests finish, then answers"
"$CLAW" route switch gw claw-it-d-a
curl -s --max-time 10 "http://127.0.0.1:$PORT/hold?ms=1500" >"$T/held" &
c=$!
sleep 0.3
start=$(date +%s%N)
claw route drain gw claw-it-d-a --timeout 10
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $c
expect_rc 0
[ "$ms" -ge 900 ] || fail "drain answered after $ms ms, before the request finished"
[ "$(tail -n 1 "$T/held")" = "hold a 15/15" ] || fail "held response cut: $(tail -n 2 "$T/held")"
[ "$(version)" = b ] || fail "a draining backend got a new connection"
done_check

check "a drain deadline closes what is left and says how many"
"$CLAW" route add gw claw-it-d-a --weight 100
"$CLAW" route weight gw claw-it-d-a=100 claw-it-d-b=0
curl -s --max-time 10 "http://127.0.0.1:$PORT/hold?ms=5000" >/dev/null &
sleep 0.3
claw route drain gw claw-it-d-a --timeout 0.5
expect_rc 0
expect_err "1 connection(s) closed at the deadline"
"$CLAW" route add gw claw-it-d-a
"$CLAW" route switch gw claw-it-d-b
done_check

check "a refused backend is replaced by a live one: no client sees a refusal"
# It listens on another port, so the route's port refuses every connection.
docker run -d --name claw-it-d-r -e PORT=18790 $GW:v1 >/dev/null
sleep 0.3
"$CLAW" route add gw claw-it-d-r --weight 50
"$CLAW" route weight gw claw-it-d-b=50 claw-it-d-r=50
read -r reqs errs < <(wrk_run 2s 16)
[ "${errs:-1}" = 0 ] || fail "$errs of $reqs failed with one backend refusing"
claw route list --json
p=$(policy fails.lua 'local json = require "claw.json"
for _, r in ipairs(json.decode(io.read("a"))) do for _, b in ipairs(r.backends) do
  if b.container == "claw-it-d-r" then print(b.connect_failures > 0) end end end')
[ "$(printf '%s' "$out" | "$CLAW" run "$p")" = true ] || fail "connect failures not counted: $out"
"$CLAW" route remove gw claw-it-d-r
done_check

check "a backend that resets what it accepts: clients that sent nothing yet go to another; it is avoided after"
docker run -d --name claw-it-d-x -e RESET_AFTER_MS=100 $GW:v1 >/dev/null
sleep 0.3
"$CLAW" route add gw claw-it-d-x --weight 50
"$CLAW" route weight gw claw-it-d-b=50 claw-it-d-x=50
out=$($NET late 127.0.0.1 $PORT 20 0.5)
[ "$out" = "20 of 20 answered 200 after waiting 0.5 s to send" ] || fail "$out"
sleep 2.2 # (the reset backend is avoided for 2 s after a reset)
ok=0
for _ in $(seq 1 100); do [ "$(version)" = b ] && ok=$((ok + 1)); done
claw route list --json
p=$(policy resets.lua 'local json = require "claw.json"
for _, r in ipairs(json.decode(io.read("a"))) do for _, b in ipairs(r.backends) do
  if b.container == "claw-it-d-x" then print(b.resets + b.connect_failures, b.total) end end end')
# (a reset that comes before the connect is seen done counts as a connect failure)
read -r resets total <<<"$(printf '%s' "$out" | "$CLAW" run "$p")"
[ "${resets:-0}" -ge 1 ] || fail "resets not counted: $out"
# at 50 % it would get about 50 of 100; avoided for 2 s after each reset, a few
[ "${total:-100}" -le 20 ] || fail "the resetting backend got $total of 100 connections"
[ "$ok" -ge $((100 - total)) ] || fail "only $ok of 100 answered by b, $total went to the resetting one"
"$CLAW" route remove gw claw-it-d-x
docker rm -f claw-it-d-x >/dev/null
done_check

check "a backend that dies mid-stream affects only its own connections"
docker run -d --name claw-it-d-c $GW:v1 >/dev/null
sleep 0.5
"$CLAW" route add gw claw-it-d-c --weight 0
"$CLAW" route weight gw claw-it-d-b=0 claw-it-d-c=100
curl -s --max-time 3 "http://127.0.0.1:$PORT/hold?ms=2000" >"$T/dying" &
c=$!
sleep 0.3
"$CLAW" route weight gw claw-it-d-b=100 claw-it-d-c=0
wrk_run 2s 16 >"$T/wrk" &
w=$!
sleep 0.5
docker kill claw-it-d-c >/dev/null
wait $c $w
read -r reqs errs <"$T/wrk"
[ "${errs:-1}" = 0 ] || fail "$errs of $reqs failed on the live backend while the other died"
[ "$(tail -n 1 "$T/dying")" != "hold v1 20/20" ] || fail "the dying backend's response completed?"
"$CLAW" route remove gw claw-it-d-c
done_check

check "weights share new connections; sticky keeps a client on one backend"
"$CLAW" route add gw claw-it-d-a
"$CLAW" route weight gw claw-it-d-a=80 claw-it-d-b=20
a=0
for _ in $(seq 1 200); do [ "$(version)" = a ] && a=$((a + 1)); done
[ "$a" -ge 130 ] && [ "$a" -le 190 ] || fail "a served $a of 200 at weight 80"
"$CLAW" route add gw claw-it-d-a # found again: keeps its share
claw route list --json
p=$(policy weight.lua 'local json = require "claw.json"
for _, r in ipairs(json.decode(io.read("a"))) do for _, b in ipairs(r.backends) do
  if b.container == "claw-it-d-a" then print(b.weight) end end end')
[ "$(printf '%s' "$out" | "$CLAW" run "$p")" = 80 ] || fail "route add without --weight changed the weight: $out"
"$CLAW" route weight gw claw-it-d-a=50 claw-it-d-b=50 --sticky
first=$(version)
for _ in $(seq 1 30); do [ "$(version)" = "$first" ] || fail "sticky client moved"; done
"$CLAW" route weight gw claw-it-d-a=0 claw-it-d-b=100 --no-sticky
done_check

check "out of file descriptors: said in the log, connections turned away, served again after"
stop_daemon
prlimit --nofile=48:48 "$CLAW" daemon --config "$T/daemon.yml" >>"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
out=$($NET many 127.0.0.1 $PORT 60)
case $out in "60 of 60 "*) fail "60 connections answered with 48 descriptors: $out" ;; esac
grep -Eq "route gw: cannot (accept|open a socket to a backend): Too many open files" "$T/daemon.log" ||
  fail "not in the log: $(tail -3 "$T/daemon.log")"
[ -n "$(version)" ] || fail "not serving once the connections closed"
stop_daemon
start_daemon
done_check

check "pause holds new connections until resume, or until its deadline; open ones go on"
claw route pause gw --timeout 20
expect_rc 0
curl -s --max-time 10 "http://127.0.0.1:$PORT/version" >"$T/held" &
c=$!
sleep 0.5
[ -s "$T/held" ] && fail "answered during the pause: $(cat "$T/held")"
claw route list --json
expect_out_has '"paused":true'
expect_out_has '"held":1'
[ "$($NET rst 127.0.0.1 $PORT)" = reset ] || fail "rst client"
sleep 0.3 # a held connection reset by its client is closed, and only it
kill -0 "$dpid" 2>/dev/null || fail "the daemon died on a held connection's reset"
claw route list --json
expect_out_has '"held":1'
claw route resume gw
expect_rc 0
wait $c
[ -n "$(cat "$T/held")" ] || fail "the held connection was not answered after the resume"
claw route pause gw --timeout 1
curl -s --max-time 10 "http://127.0.0.1:$PORT/version" >"$T/held"
[ -n "$(cat "$T/held")" ] || fail "not answered after the pause's deadline"
grep -q "route gw: no pause is left; 1 connection(s) it held go on" "$T/daemon.log" ||
  fail "log: $(tail -3 "$T/daemon.log")"
claw route pause gw --timeout -1
expect_rc 2
claw route list --json
expect_out_has '"paused":false'
done_check

check "pauses by holder: the route resumes when each holder's pause ends, or with --all"
claw route pause gw --timeout 20 --holder run-a
claw route pause gw --timeout 20 --holder run-b
claw route pause gw --timeout 20 --holder run-a
expect_out ""
claw route list
expect_out_has "gw (paused: run-"
expect_out_has "run-a 20 s"
expect_out_has "run-b 20 s"
expect_out_has "; 0 held)"
curl -s --max-time 10 "http://127.0.0.1:$PORT/version" >"$T/held" &
c=$!
claw route resume gw --holder run-a
expect_rc 0
expect_err "route gw stays paused: 1 pause(s) of other holders left (\`clawengine route list\` names them; \`clawengine route resume gw --all\` ends them)"
claw route resume gw --holder run-a
expect_err_has "route gw stays paused: 1 pause(s)"
sleep 0.5
[ -s "$T/held" ] && fail "answered while run-b's pause was left: $(cat "$T/held")"
claw route resume gw --holder run-b
expect_err ""
wait $c
[ -n "$(cat "$T/held")" ] || fail "the held connection was not answered after the last resume"
claw route pause gw --timeout 20 --holder run-a
claw route pause gw --timeout 0.5 --holder run-b
sleep 1
claw route list --json
expect_out_has '"holder":"run-a"'
grep -q "route gw: the pause of run-b reached its deadline" "$T/daemon.log" || fail "log: $(tail -3 "$T/daemon.log")"
claw route pause gw --holder run-c
claw route resume gw --all
expect_err ""
claw route list --json
expect_out_has '"paused":false'
expect_out_has '"pauses":[]'
claw route resume gw --all --holder run-a
expect_rc 2
claw route pause gw --holder "bad holder"
expect_rc 2
expect_err_has "route pause: --holder \"bad holder\" is not a name"
claw route pause gw --all
expect_rc 2
expect_err_has "route pause: --all is for resume"
claw route resume gw
expect_rc 0
[ -n "$(version)" ] || fail "not serving after a resume of a route that was not paused"
done_check

check "1,200 concurrent connections"
out=$($NET many 127.0.0.1 $PORT 1200)
[ "$out" = "1200 of 1200 answered 200 with 1200 connections open" ] || fail "$out"
done_check

check "clients that never read: bounded memory"
rss() { awk '/VmRSS/{print $2}' "/proc/$dpid/status"; }
before=$(rss)
$NET noread 127.0.0.1 $PORT 50 2 3 >"$T/noread" &
n=$!
sleep 2.5
during=$(rss)
wait $n
grown=$(( during - before ))
echo "never-reading clients: RSS $before kB -> $during kB; $(cat "$T/noread")" >&2
[ "$grown" -lt 20000 ] || fail "RSS grew by $grown kB for 50 clients that never read"
[ "$(version)" = b ] || fail "the daemon stopped serving"
done_check

check "half-closed connections get their whole answer"
out=$($NET halfclose 127.0.0.1 $PORT "/hold?ms=500")
[ "$out" = "HTTP/1.1 200 OK complete" ] || fail "half-close: $out"
done_check

check "malformed admin commands get an error and change nothing"
summary=$(policy summary.lua 'local route = require "claw.route"
for _, r in ipairs(assert(route.list())) do for _, b in ipairs(r.backends) do
  print(r.name, table.concat(r.listen, ","), b.container, b.address, b.weight, b.state) end end')
before_list=$("$CLAW" run "$summary")
for line in 'nonsense' '{"op":"switch"}' '{"op":"explode","route":"gw"}' '[1,2]' \
            '{"op":"weight","route":"gw","weights":{"claw-it-d-a":101}}' \
            '{"op":"switch","route":"gw","container":"../../etc"}' '{"op":"remove","route":"nope","container":"x"}'; do
  ans=$($NET admin "$T/admin.sock" "$line")
  grep -q '"ok":false' <<<"$ans" || fail "accepted: $line -> $ans"
done
[ "$($NET admin "$T/admin.sock" '{"op":"switch"}')" = '{"ok":false,"code":"invalid","error":"admin: \"route\" is missing"}' ] || fail "message"
[ "$("$CLAW" run "$summary")" = "$before_list" ] || fail "routes changed: $("$CLAW" run "$summary")"
claw route switch gw claw-it-d-none
expect_rc 1
expect_err_has "clawengine: route switch: No such container: claw-it-d-none"
claw route add gw claw-it-d-a --weight -1
expect_rc 2
expect_err_has "clawengine: route add: --weight must be an integer from 0 to 100, not -1"
claw route drain gw claw-it-d-a --timeout -5
expect_rc 2
expect_err_has "clawengine: route drain: --timeout must be seconds from 0 to 86400, not -5"
claw route weight nope claw-it-d-a=50
expect_rc 1
expect_err_has 'no route "nope"'
bad_lua=$(policy badw.lua 'local route = require "claw.route"
local ok, err = route.add("gw", "claw-it-d-a", { weight = 150 })
print(ok, err and err.message)')
[ "$("$CLAW" run "$bad_lua")" = 'nil	admin: "weight" must be an integer from 0 to 100' ] || fail "route.add weight 150: $("$CLAW" run "$bad_lua")"
[ "$("$CLAW" run "$summary")" = "$before_list" ] || fail "routes changed: $("$CLAW" run "$summary")"
done_check

check "route state survives a restart"
"$CLAW" route switch gw claw-it-d-b
stop_daemon
[ "$drc" = 0 ] || fail "daemon exit code $drc"
start_daemon
[ "$(version)" = b ] || fail "after restart served by $(version)"
done_check

check "SIGTERM lets in-flight requests finish, then exits 0"
curl -s --max-time 10 "http://127.0.0.1:$PORT/hold?ms=1000" >"$T/term" &
c=$!
sleep 0.3
stop_daemon
wait $c
[ "$drc" = 0 ] || fail "exit code $drc"
[ "$(wc -c <"$T/term")" -gt 100 ] || fail "in-flight request cut"
grep -qE "stopping on SIGTERM from pid [0-9]+: 1 connection\(s\) to finish" "$T/daemon.log" || fail "log: $(tail -3 "$T/daemon.log")"
done_check

check "a SIGTERM while a drain waits past drain_timeout keeps the saved routes"
start_daemon
"$CLAW" route create side --listen 127.0.0.1:$((PORT + 7)) --port 18789 --container claw-it-d-a >/dev/null ||
  fail "route create side"
curl -s --max-time 20 "http://127.0.0.1:$PORT/hold?ms=8000" >/dev/null &
c=$!
sleep 0.3
"$CLAW" route drain gw claw-it-d-b --timeout 60 >/dev/null 2>&1 &
sleep 0.3
stop_daemon
kill $c 2>/dev/null; wait $c 2>/dev/null
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["routes"]; n={x["name"] for x in r}
assert n == {"gw", "side"}, n' "$T/state/routes.json" || fail "state after the stop: $(cat "$T/state/routes.json")"
start_daemon
"$CLAW" route add gw claw-it-d-b >/dev/null
"$CLAW" route list >"$T/routes"
grep -q "^side " "$T/routes" || fail "route side lost: $(cat "$T/routes")"
"$CLAW" route delete side >/dev/null || fail "route delete side"
[ "$(version)" = b ] || fail "after restart served by $(version)"
stop_daemon
done_check

check "idle connections are closed after idle_timeout"
IDLE=1 write_config
start_daemon
out=$($NET idle 127.0.0.1 $PORT 10)
[ "$out" = "closed=True after 1s" ] || [ "$out" = "closed=True after 2s" ] || fail "$out"
stop_daemon
done_check

# Load across a takeover: a new connection per request for 4 s; the check waits for
# it and fails on any error or under 2,000 requests.
takeover_load_start() {
  WRK_HEADER="Connection: close" wrk_run 4s 16 >"$T/takeover.wrk" &
  w=$!
}
takeover_load_check() {
  wait $w
  read -r reqs errs <"$T/takeover.wrk"
  echo "$current: $reqs requests (a new connection each), $errs errors" >&2
  [ "$errs" = 0 ] && [ "$reqs" -ge 2000 ] || fail "$reqs requests, $errs errors"
}

check "--takeover: the listening sockets pass to a new daemon, no connection is refused"
write_config
start_daemon
old=$dpid
takeover_load_start
sleep 1.5
"$CLAW" daemon --config "$T/daemon.yml" --takeover >>"$T/daemon.log" 2>&1 &
dpid=$!
wait "$old"
orc=$?
[ "$orc" = 0 ] || fail "the old daemon exited with $orc"
takeover_load_check
kill -0 "$dpid" 2>/dev/null || fail "the new daemon is gone: $(tail -3 "$T/daemon.log")"
grep -q "takeover: 2 listening socket(s) from pid $old" "$T/daemon.log" || fail "log: $(tail -5 "$T/daemon.log")"
grep -q "stopping after the handover to pid $dpid" "$T/daemon.log" || fail "log: $(tail -5 "$T/daemon.log")"
claw route list
expect_rc 0
expect_out_has "claw-it-d-"
[ -n "$(version)" ] || fail "not served after the takeover"
[ "$($NET admin "$T/admin.sock" '{"op":"retire"}')" = '{"ok":false,"code":"invalid","error":"retire: only after a handover, on its connection"}' ] ||
  fail "a retire without a handover was not refused"
kill -0 "$dpid" 2>/dev/null || fail "a retire without a handover stopped the daemon"
stop_daemon
[ "$drc" = 0 ] || fail "the new daemon exited with $drc"
done_check

check "two takeovers at once: one after the other, never two daemons on the port"
start_daemon
old=$dpid
takeover_load_start
sleep 1
"$CLAW" daemon --config "$T/daemon.yml" --takeover >>"$T/daemon.log" 2>&1 &
n1=$!
"$CLAW" daemon --config "$T/daemon.yml" --takeover >>"$T/daemon.log" 2>&1 &
n2=$!
wait "$old"
for _ in $(seq 1 100); do
  alive=0
  for p in $n1 $n2; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" = 1 ] && break
  sleep 0.1
done
[ "$alive" = 1 ] || fail "$alive daemons left of the two new ones"
takeover_load_check
[ "$(ss -ltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | sort -u | wc -l)" = 1 ] ||
  fail "listening: $(ss -ltnp "sport = :$PORT")"
kill -0 $n1 2>/dev/null && dpid=$n1 || dpid=$n2
claw route list
expect_rc 0
stop_daemon
done_check

check "while a handover is under way, changes are refused as busy and asked again"
start_daemon
# a stand-in for a new daemon: takes the sockets, then goes away without retiring,
# 1 s after the test has asked for its change (the file "asked"; 20 s at most)
python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"{\"op\":\"handover\"}\n")
msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(64))
print(msg.decode().strip(), flush=True)
for _ in range(400):
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.05)
time.sleep(1)
' "$T/admin.sock" "$T/asked" >"$T/fake-handover" &
fake=$!
for _ in $(seq 1 50); do [ -s "$T/fake-handover" ] && break; sleep 0.05; done
grep -q '"ok":true' "$T/fake-handover" || fail "handover: $(cat "$T/fake-handover")"
[ "$($NET admin "$T/admin.sock" '{"op":"switch","route":"gw","container":"claw-it-d-b"}')" = \
  "{\"ok\":false,\"code\":\"busy\",\"error\":\"this daemon is handing over to pid $fake; ask again\"}" ] ||
  fail "a change during a handover was not refused as busy"
touch "$T/asked"
claw route switch gw claw-it-d-b  # the client asks again until the handover is given up
expect_rc 0
wait $fake
[ "$(version)" = b ] || fail "served by $(version)"
grep -q "handover: pid $fake went away without taking over; serving on" "$T/daemon.log" ||
  fail "log: $(tail -3 "$T/daemon.log")"
stop_daemon
done_check

check "--takeover with no daemon running starts as usual"
"$CLAW" daemon --config "$T/daemon.yml" --takeover >>"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
[ -n "$(version)" ] || fail "not served"
grep -q "takeover: no daemon answers on $T/admin.sock; starting without one" "$T/daemon.log" || fail "log"
stop_daemon
done_check

check "a takeover that cannot start leaves the old daemon serving"
start_daemon
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1", '$((PORT + 5))')); s.listen(); time.sleep(30)' &
holder=$!
cp "$T/daemon.yml" "$T/taken.yml"
printf '  gw5:\n    listen: "127.0.0.1:%s"\n    container: claw-it-d-a\n    port: 18789\n' $((PORT + 5)) >>"$T/taken.yml"
for _ in $(seq 1 50); do ss -ltn "sport = :$((PORT + 5))" | grep -q LISTEN && break; sleep 0.1; done
"$CLAW" daemon --config "$T/taken.yml" --takeover >"$T/taken.log" 2>&1
rc=$?
kill $holder
[ "$rc" = 1 ] || fail "exit code $rc: $(cat "$T/taken.log")"
grep -q "route gw5: cannot listen on 127.0.0.1:$((PORT + 5)): Address already in use" "$T/taken.log" ||
  fail "message: $(cat "$T/taken.log")"
kill -0 "$dpid" 2>/dev/null || fail "the old daemon stopped"
[ -n "$(version)" ] || fail "not served"
claw route list
expect_rc 0
grep -q "handover: pid [0-9]* went away without taking over; serving on" "$T/daemon.log" ||
  fail "old daemon's log: $(tail -3 "$T/daemon.log")"
stop_daemon
done_check

check "a route's container that does not exist yet is looked up again until it does"
one_route_config late $((PORT + 6)) claw-it-d-late
"$CLAW" daemon --config "$T/late.yml" >"$T/late.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do grep -q "left out" "$T/late.log" && break; sleep 0.05; done
grep -q "route late: backend claw-it-d-late left out: No such container: claw-it-d-late; looked up again until it exists" "$T/late.log" ||
  fail "log: $(cat "$T/late.log")"
docker run -d --name claw-it-d-late -e APP_VERSION=late $GW:v1 >/dev/null
late() { curl -s --max-time 1 "http://127.0.0.1:$((PORT + 6))/version"; }
for _ in $(seq 1 150); do [ "$(late)" = late ] && break; sleep 0.1; done
[ "$(late)" = late ] || fail "not served: $(tail -3 "$T/late.log")"
grep -q "route late: backend claw-it-d-late found; serving" "$T/late.log" || fail "log: $(tail -3 "$T/late.log")"
stop_daemon
[ "$drc" = 0 ] || fail "exit code $drc"
# the same with the backend in the saved state (every start after the first)
docker rm -f claw-it-d-late >/dev/null
: >"$T/late.log"
"$CLAW" daemon --config "$T/late.yml" >"$T/late.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do grep -q "left out" "$T/late.log" && break; sleep 0.05; done
grep -q "route late: backend claw-it-d-late left out: No such container: claw-it-d-late; looked up again until it exists" "$T/late.log" ||
  fail "log after a restart: $(cat "$T/late.log")"
docker run -d --name claw-it-d-late -e APP_VERSION=late $GW:v1 >/dev/null
for _ in $(seq 1 150); do [ "$(late)" = late ] && break; sleep 0.1; done
[ "$(late)" = late ] || fail "not served after a restart: $(tail -3 "$T/late.log")"
stop_daemon
done_check

check "a first start with a slow Docker: connections wait for the backend's lookup, none is closed"
# Docker's answers come 2 s late (a proxy on 127.0.0.1:$((PORT + 9)) in front of its
# socket), and the route has no saved address: the clients that connect meanwhile
# wait for the lookup instead of being closed
python3 -c '
import socket, sys, threading, time
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    finally:
        try: b.shutdown(socket.SHUT_WR)
        except OSError: pass
def serve(c):
    time.sleep(2)
    u = socket.socket(socket.AF_UNIX); u.connect("/var/run/docker.sock")
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    pipe(c, u)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(16)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' $((PORT + 9)) &
slow=$!
one_route_config slow $((PORT + 8)) claw-it-d-a
for _ in $(seq 1 50); do (: </dev/tcp/127.0.0.1/$((PORT + 9))) 2>/dev/null && break; sleep 0.1; done
: >"$T/slow.log"
"$CLAW" -H tcp://127.0.0.1:$((PORT + 9)) daemon --config "$T/slow.yml" >"$T/slow.log" 2>&1 &
dpid=$!
# (until the route listens: the admin socket opens before the routes do)
for _ in $(seq 1 100); do (: </dev/tcp/127.0.0.1/$((PORT + 8))) 2>/dev/null && break; sleep 0.05; done
clients=()
for i in 1 2 3 4 5 6; do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 "http://127.0.0.1:$((PORT + 8))/version" >"$T/answer-$i" &
  clients+=($!)
done
wait "${clients[@]}"
for _ in $(seq 1 100); do grep -q "serving 1 route(s)" "$T/slow.log" && break; sleep 0.1; done
[ "$(cat "$T/answer-"*)" = "$(printf '200\n%.0s' 1 2 3 4 5 6)" ] ||
  fail "answers: $(cat "$T/answer-"* | tr '\n' ' '); log: $(cat "$T/slow.log")"
stop_daemon
kill $slow
wait $slow 2>/dev/null
slow=
done_check

check "a second daemon on the same address is refused, whatever its admin socket"
start_daemon
sed "s#admin: .*#admin: $T/admin2.sock#; s#state: .*#state: $T/state2/routes.json#" "$T/daemon.yml" >"$T/second.yml"
"$CLAW" daemon --config "$T/second.yml" >"$T/second.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "exit code $rc: $(cat "$T/second.log")"
grep -q "route gw: cannot listen on 127.0.0.1:$PORT: Address already in use" "$T/second.log" ||
  fail "message: $(cat "$T/second.log")"
[ -n "$(version)" ] || fail "the first daemon stopped serving"
stop_daemon
done_check

check "SIGHUP reloads the config: a new route"
write_config
cat >>"$T/daemon.yml" <<YML
  gw2:
    listen: "127.0.0.1:$((PORT + 1))"
    container: claw-it-d-a
    port: 18789
YML
sed -i '/gw2:/,$d' "$T/daemon.yml"
start_daemon
cat >>"$T/daemon.yml" <<YML
  gw2:
    listen: "127.0.0.1:$((PORT + 1))"
    container: claw-it-d-a
    port: 18789
YML
kill -HUP "$dpid"
sleep 0.5
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = a ] || fail "gw2 not served"
printf 'routes: [' >>"$T/daemon.yml"
kill -HUP "$dpid"
sleep 0.3
grep -q "reload refused, keeping the running config" "$T/daemon.log" || fail "bad reload not logged"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = a ] || fail "bad reload broke gw2"
# an address moves from gw2 to gw, which comes first: gw2's is closed before gw opens it
write_config
sed -i "s#listen: \[ \"127.0.0.1:$PORT\", \"\[::1\]:$PORT\" \]#listen: [ \"127.0.0.1:$PORT\", \"127.0.0.1:$((PORT + 1))\" ]#" "$T/daemon.yml"
printf '  gw2:\n    listen: "127.0.0.1:%s"\n    container: claw-it-d-a\n    port: 18789\n' $((PORT + 2)) >>"$T/daemon.yml"
grep -q "127.0.0.1:$((PORT + 1))" "$T/daemon.yml" || fail "config: $(cat "$T/daemon.yml")"
kill -HUP "$dpid"
sleep 0.5
! grep -q "reload: route gw: cannot listen" "$T/daemon.log" || fail "log: $(grep "reload:" "$T/daemon.log")"
for p in $((PORT + 1)) $((PORT + 2)); do
  [ -n "$(curl -s --max-time 5 "http://127.0.0.1:$p/version")" ] || fail "$p not served"
done
stop_daemon
done_check

check "SIGHUP: the log file opens again after a rotation, a change a running route keeps is said, a stopping daemon ignores it"
write_config
printf 'log: %s\n' "$T/file.log" >>"$T/daemon.yml"
start_daemon
mv "$T/file.log" "$T/file.log.1"
sed -i "s/port: 18789/port: 18790/" "$T/daemon.yml"
kill -HUP "$dpid"
sleep 0.5
grep -q "reload: routes.gw.port: 18790 for backends added from now on" "$T/file.log" ||
  fail "not in the reopened log: $(cat "$T/file.log" 2>&1)"
[ -n "$(version)" ] || fail "not serving after the reload"
# container: a change is said only when the running route does not have it already
"$CLAW" route list | grep -q "claw-it-d-b" || fail "route gw without claw-it-d-b: $("$CLAW" route list)"
sed -i "s/container: claw-it-d-a/container: claw-it-d-b/" "$T/daemon.yml"
kill -HUP "$dpid"
sleep 0.5
! grep -q "routes.gw.container" "$T/file.log" || fail "said of a backend the route has: $(grep container "$T/file.log")"
sed -i "s/container: claw-it-d-b/container: claw-it-d-z/" "$T/daemon.yml"
kill -HUP "$dpid"
sleep 0.5
grep -qF 'reload: routes.gw.container: a running route keeps its backends (`clawengine route switch gw claw-it-d-z` moves it)' \
  "$T/file.log" || fail "not said: $(tail -3 "$T/file.log")"
curl -s --max-time 10 "http://127.0.0.1:$PORT/hold?ms=2000" >/dev/null &
c=$!
sleep 0.3
kill -TERM "$dpid"
sleep 0.3
kill -HUP "$dpid"
sleep 0.3
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/" || fail "a stopping daemon listens again after SIGHUP"
grep -q "reload ignored: this daemon is stopping" "$T/file.log" || fail "log: $(tail -5 "$T/file.log")"
wait $c
wait "$dpid"
[ $? = 0 ] || fail "exit code after the drain"
dpid=
done_check

check "the daemon's log has no sanitizer report (leaks, memory errors)"
! grep -q "Sanitizer" "$T/daemon.log" || fail "$(grep -A20 Sanitizer "$T/daemon.log" | head -40)"
done_check

finish
