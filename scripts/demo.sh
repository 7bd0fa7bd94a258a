#!/usr/bin/env bash
# The newcomer's first command: sets the machine up, builds clawengine and the demo
# gateway images, then runs the main job on a bundled demo: the demo gateway v1
# serves behind the traffic switch on 127.0.0.1:18789, and policies/rolling.lua
# updates it to v2 while wrk sends requests through it. Prints the figures, then
# rolls back to v1 with `clawengine rollback`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
tests/fixtures/gateway/build.sh build/fixtures
claw=$root/build/clawengine

demo=$(mktemp -d /tmp/clawengine-demo-XXXXXX)
export CLAWENGINE_ADMIN=$demo/admin.sock CLAWENGINE_STATE_DIR=$demo/state
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  docker rm -f claw-demo-gateway claw-demo-gateway-previous claw-demo-gateway-next >/dev/null 2>&1 || true
  rm -rf "$demo"
}
trap cleanup EXIT
cleanup_containers_only() { docker rm -f claw-demo-gateway claw-demo-gateway-previous >/dev/null 2>&1 || true; }
cleanup_containers_only

echo "demo: starting the demo gateway v1 (it publishes no port: the daemon owns 18789)"
docker run -d --name claw-demo-gateway -e READY_DELAY=1 clawtest/gateway:v1 >/dev/null
for _ in $(seq 1 100); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' claw-demo-gateway)" = healthy ] && break
  sleep 0.1
done
cat >"$demo/daemon.yml" <<YML
admin: $demo/admin.sock
state: $demo/routes.json
log: $demo/daemon.log
routes:
  gateway:
    listen: [ "127.0.0.1:18789" ]
    container: claw-demo-gateway
    port: 18789
YML
# In a session of its own, as a service runs (docs/proxy.md): the kernel shares
# CPU between sessions, and this one is about to run wrk.
setsid "$claw" daemon --config "$demo/daemon.yml" &
daemon_pid=$!
for _ in $(seq 1 100); do [ -S "$demo/admin.sock" ] && break; sleep 0.05; done
echo "demo: through the switch: $(curl -s http://127.0.0.1:18789/api/health)"
"$claw" run policies/status.lua claw-demo-gateway

echo "demo: updating to v2 with policies/rolling.lua while wrk runs (12 s, 16 connections)"
cat >"$demo/count.lua" <<'LUA'
done = function(s, latency)
  local e = s.errors
  io.write(string.format("WRK %d %d %.2f\n", s.requests,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(99) / 1000))
end
LUA
wrk -t2 -c16 -d12s --latency -s "$demo/count.lua" http://127.0.0.1:18789/ | sed -n 's/^WRK //p' >"$demo/wrk" &
wrk_pid=$!
sleep 2
"$claw" run policies/rolling.lua claw-demo-gateway --image clawtest/gateway:v2 --no-pull --monitor 3
wait "$wrk_pid"
read -r reqs failed p99 <"$demo/wrk"

echo
echo "demo: after the update: $(curl -s http://127.0.0.1:18789/api/health)"
"$claw" history claw-demo-gateway
echo
echo "demo: figures: $reqs requests through the switch during the update, $failed failed, p99 $p99 ms"
echo
echo "demo: the old version was kept stopped as claw-demo-gateway-previous; going back with 'clawengine rollback'"
"$claw" rollback claw-demo-gateway
echo "demo: after the rollback: $(curl -s http://127.0.0.1:18789/api/health)"
echo "demo: done; the demo's daemon, containers and files are removed now"
