#!/usr/bin/env bash
# rolling.lua on a Compose service with 3 replicas behind one route: parallelism 1,
# a delay between batches, failure_action rollback; rollback_config's parallelism;
# --dry-run prints the plan only; a service that is not in the file, and bad
# deploy fields, are refused.
source "$(dirname "$0")/lib.sh"
POLICY="$HERE/../../policies/rolling.lua"
PORT=28970
P=clawit
OWN=$P

teardown() {
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  cleanup_containers clawit-web
}
trap teardown EXIT
cleanup_containers clawit-web

cat >"$T/compose.yml" <<YML
name: $P
services:
  web:
    image: \${WEB_IMAGE:-$GW:v2}
    deploy:
      replicas: 3
      update_config:
        parallelism: 1
        delay: 1s
        failure_action: rollback
        order: start-first
        monitor: 1s
YML
web_route_config $P-web-1

# three v1 replicas, as Compose labels them; extra `docker run` args for replica
# $ODD (2 unless said)
replicas() {
  cleanup_containers clawit-web
  for i in 1 2 3; do
    extra=()
    [ "$i" = "${ODD:-2}" ] && extra=("$@")
    docker run -d --name $P-web-$i --label com.docker.compose.project=$P \
      --label com.docker.compose.service=web --label com.docker.compose.container-number=$i \
      "${extra[@]}" $GW:v1 >/dev/null
  done
  for i in 1 2 3; do
    [ "$i" = "${ODD:-2}" ] && [ $# -gt 0 ] && continue
    for _ in $(seq 1 100); do [ "$(docker inspect -f '{{.State.Health.Status}}' $P-web-$i)" = healthy ] && break; sleep 0.1; done
  done
  # (before the daemon runs, the first time, there is no route to add them to yet)
  for i in 1 2 3; do "$CLAW" route add web $P-web-$i --weight 100 >/dev/null 2>&1; done
  return 0
}

replicas
"$CLAW" daemon --config "$T/daemon.yml" >"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && break; sleep 0.05; done
for i in 1 2 3; do "$CLAW" route add web $P-web-$i --weight 100 >/dev/null; done

check "--dry-run prints the plan and changes nothing"
snapshot
claw --dry-run run "$POLICY" --compose "$T/compose.yml"
expect_rc 0
expect_out_has "plan for $P-web-1 (start-first):"
expect_out_has "  switch route web to $P-web-1-next, monitor 1 s"
expect_out_has "$P-web-3: planned"
expect_out_has "plan for service web: 3 container(s) in batches of 1, 1 s apart; a failure above 0 of those tried: rollback (the ones updated roll back 1 at a time, 0 s apart, each batch watched 5 s; a failed rollback: pause)"
expect_out_has "  pull $GW:v2"
expect_out_has "  health gate: its Docker healthcheck (deadline the healthcheck's own)"
claw --dry-run run "$POLICY" --compose "$T/compose.yml" --no-pull --timeout 9 \
  --health 'http://{host}:{port}/api/health' --port 18789 --expect status=healthy
expect_rc 0
expect_out_has "  use $GW:v2 as it is here (--no-pull)"
expect_out_has "  health gate: its Docker healthcheck (deadline 9 s), then GET http://{host}:{port}/api/health with status=healthy (deadline 9 s)"
expect_unchanged
done_check

check "3 replicas, one at a time, a delay apart, under load: 0 failed"
cat >"$T/count.lua" <<'LUA'
done = function(s)
  local e = s.errors
  io.write(string.format("WRK %d %d\n", s.requests, e.connect + e.read + e.write + e.timeout + e.status))
end
LUA
wrk -t2 -c8 -d14s -s "$T/count.lua" "http://127.0.0.1:$PORT/" | sed -n 's/^WRK //p' >"$T/wrk" &
w=$!
sleep 0.5
start=$(date +%s)
claw run "$POLICY" --compose "$T/compose.yml" --no-pull
took=$(( $(date +%s) - start ))
expect_rc 0
expect_out "$P-web-1: updated
$P-web-2: updated
$P-web-3: updated"
wait $w
read -r reqs errs <"$T/wrk"
echo "compose rollout: $reqs requests, $errs failed, ${took}s" >&2
[ "${errs:-1}" = 0 ] || fail "$errs of $reqs failed"
[ "$took" -ge 2 ] || fail "no delay between batches (${took}s)"
for i in 1 2 3; do
  [ "$(docker inspect -f '{{.Config.Image}} {{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}}' $P-web-$i)" = "$GW:v2 web $i" ] ||
    fail "replica $i: $(docker inspect -f '{{.Config.Image}} {{.Config.Labels}}' $P-web-$i)"
done
claw route list
[ "$(grep -c "^web .* 100 *active" <<<"$out")" = 3 ] || fail "route shares: $out"
done_check

check "parallelism 2: replicas 1 and 2 update together, then 3; 0 failed"
replicas
sed 's/parallelism: 1/parallelism: 2/' "$T/compose.yml" >"$T/compose2.yml"
load_start 12s "http://127.0.0.1:$PORT/"
sleep 0.5
claw run "$POLICY" --compose "$T/compose2.yml" --no-pull
expect_rc 0
expect_out "$P-web-1: updated
$P-web-2: updated
$P-web-3: updated"
load_check
# when each step of the last update of each replica happened (its history)
step_time() { # NAME STEP
  "$CLAW" history "$1" --json | python3 -c 'import json,sys
r=[x for x in json.load(sys.stdin) if x.get("outcome")=="updated"][-1]
print([t["time"] for t in r["timeline"] if t["step"]==sys.argv[1]][0])' "$2"
}
together=$(python3 -c 'import sys; a,b,c,d=map(float,sys.argv[1:]); print(a < b and c < d)' \
  "$(step_time $P-web-2 created)" "$(step_time $P-web-1 healthy)" \
  "$(step_time $P-web-2 healthy)" "$(step_time $P-web-3 created)")
[ "$together" = True ] || fail "not 1+2 together, then 3"
done_check

check "failure_action rollback: replica 2 fails, replica 1 is rolled back, 3 untouched"
replicas -e READY_DELAY=60
WEB_IMAGE=$GW:v2 claw_reporting run "$POLICY" --compose "$T/compose.yml" --no-pull --timeout 15
expect_rc 1
expect_out_has "$P-web-1: updated"
expect_out_has "$P-web-2: rolled back: "
expect_out_has "$P-web-1: rolled back: another target of the same group failed"
# the daemon's metrics count the group's rollback too (alerts on rolled_back see it)
[ "$(reports | grep '^update ')" = "update $P-web-1 succeeded
update $P-web-2 rolled_back
update $P-web-1 rolled_back" ] || fail "reports to the daemon: $(reports)"
for i in 1 2 3; do
  [ "$(docker inspect -f '{{.Config.Image}}' $P-web-$i)" = $GW:v1 ] || fail "replica $i not on v1"
done
docker inspect $P-web-2-next >/dev/null 2>&1 && fail "a -next container is left"
done_check

check "rollback_config parallelism 2: replica 3 fails, 2 and 1 roll back together, 0 failed"
cat >"$T/compose-rb.yml" <<YML
name: $P
services:
  web:
    image: $GW:v2
    deploy:
      update_config: { parallelism: 1, delay: 0s, monitor: 0s, failure_action: rollback }
      rollback_config: { parallelism: 2, monitor: 1s, failure_action: pause }
YML
ODD=3 replicas -e READY_DELAY=60
load_start 16s "http://127.0.0.1:$PORT/"
sleep 0.5
claw run "$POLICY" --compose "$T/compose-rb.yml" --no-pull --timeout 15
expect_rc 1
# (replica 3 fails at the deadline, or before it when Docker's healthcheck, 1 s
# apart, sees it fail 3 times first)
[ "$(sed -E 's/is (not healthy after [0-9.]+ s|unhealthy: 503 .*)$/fails its health gate/' <<<"$out")" = "$P-web-1: updated
$P-web-2: updated
$P-web-3: rolled back: container $P-web-3-next fails its health gate
$P-web-2: rolled back: another target of the same group failed
$P-web-1: rolled back: another target of the same group failed" ] || fail "output: $out"
for i in 1 2 3; do
  [ "$(docker inspect -f '{{.Config.Image}}' $P-web-$i)" = $GW:v1 ] || fail "replica $i not on v1"
done
# when each step of the last rollback of each replica happened (its history)
rb_time() { # NAME STEP
  "$CLAW" history "$1" --json | python3 -c 'import json,sys
r=[x for x in json.load(sys.stdin) if x.get("outcome")=="rolled back" and x.get("kind")=="rollback"][-1]
print([t["time"] for t in r["timeline"] if t["step"]==sys.argv[1]][0])' "$2"
}
together=$(python3 -c 'import sys; a,b=map(float,sys.argv[1:]); print(a < b)' \
  "$(rb_time $P-web-1 start)" "$(rb_time $P-web-2 switch)")
[ "$together" = True ] || fail "replica 1's rollback did not start before replica 2's switched"
load_check
done_check

check "stop-first with replicas: no pause of the route while the others serve, 0 failed"
cat >"$T/compose-sf.yml" <<YML
name: $P
services:
  web:
    image: $GW:v2
    deploy:
      update_config: { parallelism: 1, delay: 0s, monitor: 0s, order: stop-first, failure_action: rollback }
      rollback_config: { parallelism: 1, order: stop-first }
YML
ODD=3 replicas -e READY_DELAY=60 -e FAULT_VERSION=2.0.0 # (its v1, stopped first, starts again sound)
pauses=$(grep -c "admin: pause web" "$T/daemon.log")
load_start 14s "http://127.0.0.1:$PORT/" -c8 -H "Connection: close"
sleep 0.5
claw run "$POLICY" --compose "$T/compose-sf.yml" --no-pull --timeout 15
expect_rc 1
expect_out_has "$P-web-3: rolled back: container $P-web-3-next is " # (not healthy after 15 s, or unhealthy)
expect_out_has "$P-web-1: rolled back: another target of the same group failed"
for i in 1 2 3; do
  [ "$(docker inspect -f '{{.Config.Image}}' $P-web-$i)" = $GW:v1 ] || fail "replica $i not on v1"
done
[ "$(grep -c "admin: pause web" "$T/daemon.log")" = "$pauses" ] || fail "the route was paused: $(grep "admin: pause" "$T/daemon.log")"
load_check
done_check

check "a service that is not in the file; a file that is not there"
snapshot
claw run "$POLICY" --compose "$T/compose.yml" nope
expect_rc 2
expect_err "clawengine: service \"nope\" is not in $T/compose.yml
usage: clawengine run policies/rolling.lua [OPTIONS] NAME... | --label KEY=VALUE | --compose FILE [SERVICE...]"
claw run "$POLICY" --compose "$T/none.yml"
expect_rc 2
expect_err_has "clawengine: --compose $T/none.yml: cannot read $T/none.yml: No such file or directory"
sed 's/failure_action: pause/failure_action: rollback/' "$T/compose-rb.yml" >"$T/compose-bad.yml"
claw run "$POLICY" --compose "$T/compose-bad.yml"
expect_rc 2
expect_err_has "clawengine: $T/compose-bad.yml: services.web.deploy.rollback_config.failure_action must be pause or continue, not rollback"
sed 's/delay: 0s/delay: soon/' "$T/compose-rb.yml" >"$T/compose-bad.yml"
claw run "$POLICY" --compose "$T/compose-bad.yml"
expect_rc 2
expect_err_has "clawengine: $T/compose-bad.yml: services.web.deploy.update_config.delay must be a duration from 0s to 24h such as 10s or 1m30s, not soon"
sed 's/{ parallelism: 2,/{ paralelism: 2,/' "$T/compose-rb.yml" >"$T/compose-bad.yml"
claw run "$POLICY" --compose "$T/compose-bad.yml"
expect_rc 2
expect_err_has "clawengine: $T/compose-bad.yml: services.web.deploy.rollback_config: unknown field paralelism (known: parallelism, delay, failure_action, monitor, max_failure_ratio, order)"
sed 's/monitor: 1s/monitor: 999999h/' "$T/compose-rb.yml" >"$T/compose-bad.yml"
claw run "$POLICY" --compose "$T/compose-bad.yml"
expect_rc 2
expect_err_has "clawengine: $T/compose-bad.yml: services.web.deploy.rollback_config.monitor must be a duration from 0s to 24h such as 10s or 1m30s, not 999999h"
expect_unchanged
done_check

finish
