#!/usr/bin/env bash
# clawengine adopt: a container that publishes 127.0.0.1:28931 itself is moved behind
# a daemon route under load. It keeps serving but for a gap measured from outside by
# a probe connecting every 5 ms; afterwards the route shows it under its own name, it
# publishes nothing on that port, and the original is kept stopped. Bad inputs and
# failures halfway change nothing (or are undone), with exact messages.
source "$(dirname "$0")/lib.sh"
PORT=28931
A=claw-it-adopt-a
OWN=claw-it-adopt

teardown() {
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  ids=$(docker ps -aq --filter name=claw-it-adopt)
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1
  docker volume rm claw-it-adopt-vol >/dev/null 2>&1 || true
}
teardown
trap teardown EXIT

cat >"$T/daemon.yml" <<YML
admin: $T/admin.sock
state: $T/state/routes.json
drain_timeout: 2
routes: {}
YML
"$CLAW" daemon --config "$T/daemon.yml" >>"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && break; sleep 0.05; done
[ -S "$T/admin.sock" ] || { echo "the daemon did not start:"; cat "$T/daemon.log"; exit 1; }

wait_healthy() {
  for _ in $(seq 1 100); do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null)" = healthy ] && return 0
    sleep 0.1
  done
  echo "$1 did not become healthy" >&2
  return 1
}
# The routes as sorted JSON: key order varies from run to run.
routes() { "$CLAW" route list --json | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'; }

docker volume create claw-it-adopt-vol >/dev/null
docker run -d --name $A --restart unless-stopped -e FOO=bar -e APP_VERSION=adopt-me \
  --label claw.test=adopt -v claw-it-adopt-vol:/data -v /anon \
  -p 127.0.0.1:$PORT:18789 -p 127.0.0.1::9999 $GW:v1 >/dev/null || exit 1
# Fixed host ports besides the adopted one cannot be kept (the copy runs beside it).
docker run -d --name claw-it-adopt-b -p 127.0.0.1:28932:18789 -p 127.0.0.1:28933:18789 \
  -p 127.0.0.1:28934:9999 $GW:v1 >/dev/null || exit 1
wait_healthy $A || exit 1
random_port() { docker port "$1" 9999/tcp | sed 's/.*://'; }
old_id=$(docker inspect -f '{{.Id}}' $A)
anon=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}' $A)

check "docker.clone: unpublish drops one container port's bindings, ports = false all"
p=$(policy clone.lua 'local docker = require "claw.docker"
local s = assert(docker.clone("claw-it-adopt-a", { unpublish = { "18789" } }))
local b = s.HostConfig.PortBindings
print(b["18789/tcp"] == nil, b["9999/tcp"][1].HostIp)
s = assert(docker.clone("claw-it-adopt-a", { ports = false }))
print(s.HostConfig.PortBindings, s.HostConfig.PublishAllPorts)
print(docker.clone("claw-it-adopt-a", { unpublish = { "18789/tcp", "http" } }))
print(pcall(docker.clone, "claw-it-adopt-a", { unpublish = "18789" }))')
claw run "$p"
expect_rc 0
expect_out 'true	127.0.0.1
nil	nil
nil	unpublish: invalid container port "http" (want PORT or PORT/PROTOCOL)
false	bad argument #2 to '"'"'claw.docker.clone'"'"' (field '"'"'unpublish'"'"' must be a list of container ports)'
done_check

# Each bad input: its exact message and exit code, and no change in Docker or routes.
bad() { # bad RC MESSAGE ARGS...
  local want_rc=$1 want_err=$2
  shift 2
  snapshot
  local before_routes
  before_routes=$(routes)
  claw "$@"
  expect_rc "$want_rc"
  expect_err "$want_err"
  expect_out ""
  expect_unchanged
  [ "$(routes)" = "$before_routes" ] || fail "routes changed: $(routes)"
  [ "$(version)" = adopt-me ] || fail "$A no longer serves"
}

check "bad inputs change nothing"
bad 1 "clawengine: adopt: No such container: claw-it-adopt-none" \
  adopt claw-it-adopt-none --route gwa --listen 127.0.0.1:$PORT
bad 1 "clawengine: adopt: $A does not publish 127.0.0.1:28939 (it publishes 127.0.0.1:$(random_port $A)->9999/tcp, 127.0.0.1:$PORT->18789/tcp)" \
  adopt $A --route gwa --listen 127.0.0.1:28939
bad 1 "clawengine: adopt: $A does not publish [::1]:$PORT (it publishes 127.0.0.1:$(random_port $A)->9999/tcp, 127.0.0.1:$PORT->18789/tcp)" \
  adopt $A --route gwa --listen "[::1]:$PORT"
bad 4 "clawengine: adopt: cannot reach the clawengine daemon at $T/none.sock: No such file or directory (is \`clawengine daemon\` running?)" \
  adopt $A --route gwa --listen 127.0.0.1:$PORT --admin "$T/none.sock"
bad 2 "clawengine: adopt: --route NAME is required
usage: clawengine adopt CONTAINER --route NAME --listen ADDR [--listen ADDR]... [--port PORT]
                        [--admin PATH] [--timeout SECONDS]" \
  adopt $A --listen 127.0.0.1:$PORT
bad 2 "clawengine: adopt: invalid address \"localhost:$PORT\" (want IP:PORT or [IPv6]:PORT)
usage: clawengine adopt CONTAINER --route NAME --listen ADDR [--listen ADDR]... [--port PORT]
                        [--admin PATH] [--timeout SECONDS]" \
  adopt $A --route gwa --listen localhost:$PORT
bad 2 "clawengine: adopt: --port must be a port number from 1 to 65535
usage: clawengine adopt CONTAINER --route NAME --listen ADDR [--listen ADDR]... [--port PORT]
                        [--admin PATH] [--timeout SECONDS]" \
  adopt $A --route gwa --listen 127.0.0.1:$PORT --port 70000
"$CLAW" route create taken --listen 127.0.0.1:28936 --port 18789 --container $A || fail "route create"
bad 1 'clawengine: adopt: route "taken" exists already' \
  adopt $A --route taken --listen 127.0.0.1:$PORT
"$CLAW" route delete taken || fail "route delete"
bad 1 "clawengine: adopt: claw-it-adopt-b also publishes 127.0.0.1:28933->18789/tcp: give that address with another --listen, so the route takes it over too" \
  adopt claw-it-adopt-b --route gwb --listen 127.0.0.1:28932
bad 1 "clawengine: adopt: claw-it-adopt-b also publishes 127.0.0.1:28934->9999/tcp: its copy could not start beside it (only 18789/tcp moves to the route; other ports may be published on a random host port)" \
  adopt claw-it-adopt-b --route gwb --listen 127.0.0.1:28932 --listen 127.0.0.1:28933
docker create --name claw-it-adopt-a-pre-adopt $GW:v1 >/dev/null
bad 1 "clawengine: adopt: a container named claw-it-adopt-a-pre-adopt exists already: remove or rename it first" \
  adopt $A --route gwa --listen 127.0.0.1:$PORT
bad 1 "clawengine: adopt: claw-it-adopt-a-pre-adopt is not running (created)" \
  adopt claw-it-adopt-a-pre-adopt --route gwa --listen 127.0.0.1:$PORT
docker rm claw-it-adopt-a-pre-adopt >/dev/null
done_check

check "--dry-run prints the plan and changes nothing"
snapshot
claw --dry-run adopt $A --route gwa --listen 127.0.0.1:$PORT
expect_rc 0
expect_out "plan: adopt $A behind route gwa on 127.0.0.1:$PORT
  1. create and start $A-adopting: a copy of $A without its host bindings of 18789/tcp
  2. wait until it is healthy (its Docker healthcheck), then check $A-adopting accepts connections on port 18789
  3. rename $A to $A-pre-adopt and $A-adopting to $A
  4. send $A SIGTERM (SIGKILL after 10 s) and create route gwa on 127.0.0.1:$PORT, forwarding to port 18789 of $A,
     as soon as Docker frees the address
  5. wait until $A-pre-adopt has stopped, and keep it for going back
dry-run: nothing changed"
expect_unchanged
[ "$(routes)" = '[]' ] || fail "routes: $(routes)"
done_check

check "a port published on all addresses is taken over by the address given, with a warning"
docker run -d --name claw-it-adopt-c -p 28930:18789 $GW:v1 >/dev/null
snapshot
claw --dry-run adopt claw-it-adopt-c --route gwc --listen 127.0.0.1:28930 --port 18790
expect_rc 0
expect_out_has "plan: adopt claw-it-adopt-c behind route gwc on 127.0.0.1:28930"
expect_out_has "create route gwc on 127.0.0.1:28930, forwarding to port 18790 of claw-it-adopt-c,"
expect_err_has "the container publishes on all addresses; the route will listen on the given ones only"
expect_err_has "published=0.0.0.0:28930->18789/tcp"
expect_unchanged
docker rm -f claw-it-adopt-c >/dev/null
done_check

check "a copy that is not healthy in time is removed; the original never stopped"
snapshot
claw adopt $A --route gwa --listen 127.0.0.1:$PORT --timeout 0.2
expect_rc 1
expect_err_has "clawengine: adopt: $A-adopting did not become healthy: "
expect_err_has "clawengine: adopt: undone: $A is unchanged"
expect_unchanged
[ "$(routes)" = '[]' ] || fail "routes: $(routes)"
[ "$(version)" = adopt-me ] || fail "$A no longer serves"
done_check

check "a failure after the stop is undone: the original serves its port again"
snapshot
# The route name is taken while the copy is being waited for.
(for _ in $(seq 1 200); do
   docker inspect $A-adopting >/dev/null 2>&1 &&
     exec "$CLAW" route create gwa --listen 127.0.0.1:28937 --port 18789 --container $A-adopting
   sleep 0.02
 done) &
racer=$!
claw adopt $A --route gwa --listen 127.0.0.1:$PORT
wait $racer || fail "the racing route create failed"
expect_rc 1
expect_err_has 'clawengine: adopt: cannot create route gwa: route "gwa" exists already'
expect_err_has "clawengine: adopt: undone: $A runs again and publishes 127.0.0.1:$PORT"
"$CLAW" route delete gwa || fail "route delete"
expect_unchanged
[ "$(routes)" = '[]' ] || fail "routes: $(routes)"
[ "$(docker inspect -f '{{.Id}}' $A)" = "$old_id" ] || fail "$A is not the original"
[ "$(version)" = adopt-me ] || fail "$A does not serve again: $(version)"
wait_healthy $A
done_check

# The probe: a new connection and GET /version every 5 ms until $T/stop exists; prints
# "probes failed gap_ms", the gap being the longest run of failures, from the first
# failed attempt to the next answered one.
cat >"$T/probe.py" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
res = []
while not os.path.exists(stop):
    t = time.monotonic()
    ok = False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(1)
            s.sendall(b"GET /version HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            ok = data.startswith(b"HTTP/1.1 200 ")
    except OSError:
        pass
    res.append((t, ok))
    time.sleep(max(0, t + 0.005 - time.monotonic()))
gap, start = 0.0, None
for t, ok in res:
    if not ok and start is None:
        start = t
    elif ok and start is not None:
        gap, start = max(gap, t - start), None
if start is not None:
    gap = float("inf")
print(len(res), sum(1 for _, ok in res if not ok), "%.0f" % (gap * 1000) if gap != float("inf") else "unended")
PY
cat >"$T/count.lua" <<'LUA'
done = function(summary)
  local e = summary.errors
  io.write(string.format("WRK %d %d\n", summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
LUA

check "adopt under load: it keeps serving, with a small gap"
wrk -t2 -c8 -d5s -s "$T/count.lua" "http://127.0.0.1:$PORT/version" | sed -n 's/^WRK //p' >"$T/wrk" &
w=$!
python3 "$T/probe.py" $PORT "$T/stop" >"$T/probe" &
pr=$!
sleep 1
claw adopt $A --route gwa --listen 127.0.0.1:$PORT
sleep 1
touch "$T/stop"
wait $pr $w
expect_rc 0
read -r reqs errs <"$T/wrk"
read -r probes pfailed outside <"$T/probe"
expect_out_has "$A-pre-adopt is kept stopped with restart policy no (it had unless-stopped; the adopted $A has it)"
gap=$(sed -n 's/^adopted claw-it-adopt-a behind route gwa on 127.0.0.1:28931: gap \([0-9]*\) ms$/\1/p' <<<"$out")
[ -n "$gap" ] || fail "output: $out"
echo "adopt under load: gap ${gap} ms as adopt measured it; outside: ${outside} ms without an answer" \
     "($pfailed of $probes probes failed); wrk: $errs of $reqs requests failed" >&2
grep "the route listens" <<<"$err" >&2
[ "${gap:-9999}" -lt 1000 ] || fail "gap $gap ms"
[ "$outside" != unended ] && [ "${outside:-9999}" -lt 1000 ] || fail "outside gap $outside ms"
[ "${reqs:-0}" -ge 5000 ] || fail "only $reqs requests"
[ "$(version)" = adopt-me ] || fail "not served after adopting: $(version)"
read -r reqs errs < <(wrk -t2 -c8 -d2s -s "$T/count.lua" "http://127.0.0.1:$PORT/version" | sed -n 's/^WRK //p')
[ "${errs:-1}" = 0 ] && [ "${reqs:-0}" -ge 2000 ] || fail "through the route: $errs of $reqs failed"
done_check

check "afterwards: the route serves the container under its own name"
claw route list
ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' $A)
grep -qE "^gwa +127.0.0.1:$PORT +$A +$ip:18789 +100 +active " <<<"$out" || fail "route list: $out"
[ "$(grep -c "^gwa " <<<"$out")" = 1 ] || fail "more than one backend: $out"
done_check

check "afterwards: the copy publishes nothing on 18789 and keeps the rest"
[ "$(docker inspect -f '{{.Id}}' $A-pre-adopt)" = "$old_id" ] || fail "$A-pre-adopt is not the original"
[ "$(docker inspect -f '{{.State.Status}}' $A-pre-adopt)" = exited ] || fail "$A-pre-adopt runs"
# (a dockerd restart must not start it on the address the route has)
[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' $A-pre-adopt)" = no ] || fail "$A-pre-adopt may restart"
[ "$(docker inspect -f '{{json .HostConfig.PortBindings}}' $A-pre-adopt)" = \
  '{"18789/tcp":[{"HostIp":"127.0.0.1","HostPort":"28931"}],"9999/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}' ] ||
  fail "the original's bindings changed: $(docker inspect -f '{{json .HostConfig.PortBindings}}' $A-pre-adopt)"
[ "$(docker inspect -f '{{json .HostConfig.PortBindings}}' $A)" = '{"9999/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}' ] ||
  fail "bindings: $(docker inspect -f '{{json .HostConfig.PortBindings}}' $A)"
grep -qxE "9999/tcp -> 127.0.0.1:[0-9]+" <<<"$(docker port $A)" || fail "docker port: $(docker port $A)"
env=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' $A)
grep -qx FOO=bar <<<"$env" && grep -qx APP_VERSION=adopt-me <<<"$env" || fail "env: $env"
[ "$(docker inspect -f '{{index .Config.Labels "claw.test"}}' $A)" = adopt ] || fail "label lost"
[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' $A)" = unless-stopped ] || fail "restart policy"
mounts=$(docker inspect -f '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' $A)
grep -qF "claw-it-adopt-vol:/data" <<<"$mounts" && grep -qF "$anon:/anon" <<<"$mounts" || fail "mounts: $mounts"
done_check

check "adopting it again: it publishes nothing there any more"
bad 1 "clawengine: adopt: $A does not publish 127.0.0.1:$PORT (it publishes 127.0.0.1:$(random_port $A)->9999/tcp)" \
  adopt $A --route gwb --listen 127.0.0.1:$PORT
done_check

finish
