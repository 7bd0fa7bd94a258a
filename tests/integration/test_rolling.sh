#!/usr/bin/env bash
# policies/rolling.lua on the real engine behind the traffic switch: success under
# load with no failed request, rollbacks (never healthy, unhealthy during monitor),
# state restored, the stop-first path, the rollback command, kill -9 at every step
# followed by recover, and bad inputs.
source "$(dirname "$0")/lib.sh"
OWN='claw-it-roll|claw-it-cleanup'
POLICY="$HERE/../../policies/rolling.lua"
PORT=28960

teardown() {
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  [ -n "${faults:-}" ] && kill "$faults" 2>/dev/null
  cleanup_containers claw-it-roll
  docker rmi $GW:rollback $GW:stable >/dev/null 2>&1 || true
}
trap teardown EXIT
cleanup_containers claw-it-roll

web_route_config claw-it-roll
fresh() { fresh_behind_route claw-it-roll "$@"; } # docker run args may follow

only_one() { # exactly one claw-it-roll container running, under the name, none -next
  [ "$(docker ps --filter name=claw-it-roll --format '{{.Names}}' | sort | tr '\n' ' ')" = "claw-it-roll " ] ||
    fail "running: $(docker ps --filter name=claw-it-roll --format '{{.Names}}' | tr '\n' ' ')"
  docker inspect claw-it-roll-next >/dev/null 2>&1 && fail "claw-it-roll-next left behind"
  return 0
}

# Runs the policy with ARGS (its output in $T/int), sends SIGINT half a second after
# its output shows PATTERN, and sets rc to its exit code.
interrupt_after() { # PATTERN ARGS...
  local pattern=$1 pid
  shift
  "$CLAW" run "$POLICY" "$@" >"$T/int" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q -- "$pattern" "$T/int" && break; sleep 0.1; done
  sleep 0.5
  kill -INT $pid
  wait $pid
  rc=$?
}

docker run -d --name claw-it-roll --restart always $GW:v1 >/dev/null
wait_healthy claw-it-roll
"$CLAW" daemon --config "$T/daemon.yml" >"$T/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && break; sleep 0.05; done

check "v1 -> v2 under load: 0 failed requests, old kept as -previous, tags"
mkdir -p "$T/cfg" && echo '{"v":1}' >"$T/cfg/app.json"
load_start 8s "http://127.0.0.1:$PORT/"
sleep 1
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --backup "$T/cfg/app.json" --monitor 2
expect_rc 0
expect_out "claw-it-roll: updated"
load_check 20000
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
[ "$(docker inspect -f '{{.State.Status}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}' claw-it-roll-previous)" = "exited $GW:v1 no" ] ||
  fail "previous: $(docker inspect -f '{{.State.Status}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}' claw-it-roll-previous)"
[ "$(docker image inspect -f '{{.Id}}' $GW:rollback)" = "$(docker image inspect -f '{{.Id}}' $GW:v1)" ] || fail ":rollback"
[ "$(docker image inspect -f '{{.Id}}' $GW:stable)" = "$(docker image inspect -f '{{.Id}}' $GW:v2)" ] || fail ":stable"
[ -f "$T/cfg/app.json.pre-update" ] || fail "no .pre-update copy"
only_one
done_check

check "up to date: nothing changes"
snapshot
claw_reporting run "$POLICY" claw-it-roll --image $GW:v2 --no-pull
expect_rc 0
expect_out "claw-it-roll: up to date"
claw --dry-run run "$POLICY" claw-it-roll --image $GW:v2 --no-pull
expect_rc 0
expect_out "claw-it-roll: up to date"
expect_unchanged
[ "$(reports)" = "check claw-it-roll up_to_date" ] || fail "reports to the daemon: $(reports)"
done_check

check "the rollback command: back to v1 with the config restored, new connections held meanwhile"
echo '{"v":2,"migrated":true}' >"$T/cfg/app.json"
# (wrk waits up to 10 s for an answer: new connections wait on the paused route while
# v2 stops and v1 starts again on the restored config)
load_start 6s "http://127.0.0.1:$PORT/" -H "Connection: close" --timeout 10s
sleep 0.5
claw rollback claw-it-roll
expect_rc 0
load_check 500 # (held for seconds: fewer requests than elsewhere)
expect_out_has "claw-it-roll: rolled back to"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
[ "$(cat "$T/cfg/app.json")" = '{"v":1}' ] || fail "config not restored: $(cat "$T/cfg/app.json")"
[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' claw-it-roll)" = always ] || fail "restart policy not given back"
[ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' claw-it-roll-previous)" = no ] || fail "kept one restarts by itself"
only_one
done_check

check "a second rollback goes forward again: v2 on the state it had left; .pre-update kept"
[ "$(cat "$T/cfg/app.json.pre-update")" = '{"v":1}' ] || fail ".pre-update overwritten: $(cat "$T/cfg/app.json.pre-update")"
claw rollback claw-it-roll
expect_rc 0
expect_out_has "claw-it-roll: rolled back to"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
[ "$(cat "$T/cfg/app.json")" = '{"v":2,"migrated":true}' ] || fail "v2's state not back: $(cat "$T/cfg/app.json")"
[ "$(docker inspect -f '{{.Config.Image}}' claw-it-roll-previous)" = $GW:v1 ] || fail "v1 not kept"
only_one
done_check

check "a version that never becomes healthy: rolled back, 0 failed requests"
fresh
load_start 6s "http://127.0.0.1:$PORT/"
sleep 0.5
claw_reporting run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 3
expect_rc 1
expect_out_has "claw-it-roll: rolled back: "
[ "$(reports)" = "check claw-it-roll update_available
update claw-it-roll rolled_back" ] || fail "reports to the daemon: $(reports)"
load_check
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
done_check

check "a version that turns unhealthy during the monitor window: rolled back, 0 failed"
# (it answers unhealthy 5 s after its first healthy answer; Docker says so after 3
# failed probes 1 s apart, later when other suites keep the machine busy: the
# window is long, and ends there)
load_start 12s "http://127.0.0.1:$PORT/"
sleep 0.5
claw run "$POLICY" claw-it-roll --image $GW:turns-unhealthy --no-pull --monitor 20
expect_rc 1
expect_out_has "claw-it-roll: rolled back: the new container turned unhealthy during the monitor window"
load_check
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
done_check

check "--failure-action pause: the old version serves again, the new one is left beside it; the next run replaces it"
claw run "$POLICY" claw-it-roll --image $GW:turns-unhealthy --no-pull --monitor 20 --failure-action pause
expect_rc 1
expect_out_has "claw-it-roll: paused"
for _ in 1 2 3 4 5 6; do [ "$(version)" = 1.0.0 ] || fail "serving $(version) after the pause"; done
[ "$(docker inspect -f '{{.State.Running}}' claw-it-roll-next 2>&1)" = true ] || fail "the new container was not left"
claw history claw-it-roll --json
expect_out_has '"outcome":"paused"'
load_start 4s "http://127.0.0.1:$PORT/"
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0
expect_rc 0
load_check
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
only_one
fresh
done_check

check "--order stop-first on a route: new connections wait for the new version, 0 failed; a failure puts the old one back"
# (wrk waits up to 10 s for an answer: the failure's pause lasts the stop, the new
# version's 2 s and the old one's start)
load_start 10s "http://127.0.0.1:$PORT/" -H "Connection: close" --timeout 10s
sleep 0.5
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0 --order stop-first
expect_rc 0
expect_out "claw-it-roll: updated"
expect_err_has "claw-it-roll: stop-first gap "
expect_err_has " s (new connections waited on the paused route)"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
# (the old version starts again, maybe at another address: the route looks it up again)
claw run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 2 --order stop-first
expect_rc 1
expect_out_has "claw-it-roll: rolled back: "
load_check
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
grep -q "admin: resume web" "$T/daemon.log" || fail "the route was not paused and resumed"
"$CLAW" route list >"$T/routes" 2>&1
grep -q "paused" "$T/routes" && fail "a pause is left: $(cat "$T/routes")"
only_one
fresh
done_check

check "state the new version migrated is restored on rollback"
mkdir -p "$T/state"
fresh -v "$T/state:/state" -e STATE_FILE=/state/version -e REFUSE_NEWER_STATE=1
[ "$(cat "$T/state/version")" = 1.0.0 ] || fail "v1 did not write its state"
claw run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 3 --backup "$T/state/version"
expect_rc 1
[ "$(cat "$T/state/version")" = 1.0.0 ] || fail "state not restored: $(cat "$T/state/version")"
claw history claw-it-roll --json
expect_out_has "\"restored\":[\"$T/state/version\"]"
only_one
done_check

check "a migrated state folder mounted by the old container: restored, the old one restarted on it"
mkdir -p "$T/appstate"
fresh -v "$T/appstate:/state" -e STATE_FILE=/state/version -e REFUSE_NEWER_STATE=1
echo keep >"$T/appstate/other"
# (wrk waits up to 10 s for an answer: new connections wait on the paused route while
# the old container stops, gets its state back and starts again)
load_start 9s "http://127.0.0.1:$PORT/" -H "Connection: close" --timeout 10s
sleep 0.5
claw run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 3 --backup "$T/appstate"
expect_rc 1
load_check 1000 # (new connections wait while the old container restarts)
[ "$(cat "$T/appstate/version")" = 1.0.0 ] || fail "state folder not restored: $(cat "$T/appstate/version")"
[ "$(cat "$T/appstate/other")" = keep ] || fail "other file lost"
[ "$(docker exec claw-it-roll /gateway --probe /version | head -c 5)" = "200 1" ] || fail "old version not serving"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
# a failure before any new container exists touches neither the state nor the old one
started=$(docker inspect -f '{{.State.StartedAt}}' claw-it-roll)
echo mine >"$T/appstate/other"
CLAWENGINE_TEST_RAISE_AFTER=backup claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull \
  --backup "$T/appstate"
expect_rc 1
expect_out_has "claw-it-roll: rolled back: test: raised after backup"
[ "$(cat "$T/appstate/other")" = mine ] || fail "state put back though nothing ran on it"
[ "$(docker inspect -f '{{.State.StartedAt}}' claw-it-roll)" = "$started" ] || fail "the old container was restarted"
only_one
done_check

check "--cleanup removes the image the previous :rollback named, once unused"
# images of their own (distinct IDs), so no fixture tag is removed
for v in a b c; do
  printf "FROM $GW:v1\nLABEL cleanup=%s\n" "$v" | docker build -q -t claw-it-cleanup:$v - >/dev/null
done
cleanup_containers claw-it-roll
docker run -d --name claw-it-roll claw-it-cleanup:a >/dev/null
wait_healthy claw-it-roll
"$CLAW" route add web claw-it-roll >/dev/null 2>&1
"$CLAW" route switch web claw-it-roll
a=$(docker image inspect -f '{{.Id}}' claw-it-cleanup:a)
claw run "$POLICY" claw-it-roll --image claw-it-cleanup:b --no-pull --monitor 0 --cleanup
expect_rc 0
docker image inspect "$a" >/dev/null 2>&1 || fail "a removed while it is the way back"
docker rm -f claw-it-roll-previous >/dev/null
claw run "$POLICY" claw-it-roll --image claw-it-cleanup:c --no-pull --monitor 0 --cleanup
expect_rc 0
docker image inspect "$a" >/dev/null 2>&1 && fail "a kept after it stopped being the way back"
[ "$(docker image inspect -f '{{.Id}}' claw-it-cleanup:rollback)" = "$(docker image inspect -f '{{.Id}}' claw-it-cleanup:b)" ] || fail ":rollback"
# the rollback command without NAME-previous, after :rollback moved elsewhere: the
# exact image the previous version ran
docker rm -f claw-it-roll-previous >/dev/null
docker tag claw-it-cleanup:c claw-it-cleanup:rollback
claw rollback claw-it-roll
expect_rc 0
[ "$(docker inspect -f '{{.Image}} {{.Config.Image}}' claw-it-roll)" = "$(docker image inspect -f '{{.Id}}' claw-it-cleanup:b) claw-it-cleanup:b" ] ||
  fail "rolled back to $(docker inspect -f '{{.Image}} {{.Config.Image}}' claw-it-roll), not b by its reference"
# ... and when that reference names another image now: by :rollback, set to b again;
# the next update (no --image) goes by the updates' reference, not by the tag
bid=$(docker image inspect -f '{{.Id}}' claw-it-cleanup:b)
claw run "$POLICY" claw-it-roll --image claw-it-cleanup:c --no-pull --monitor 0
expect_rc 0
docker rm -f claw-it-roll-previous >/dev/null
docker tag claw-it-cleanup:c claw-it-cleanup:rollback
docker tag claw-it-cleanup:c claw-it-cleanup:b
claw rollback claw-it-roll
expect_rc 0
[ "$(docker inspect -f '{{.Image}} {{.Config.Image}}' claw-it-roll)" = "$bid claw-it-cleanup:rollback" ] ||
  fail "rolled back to $(docker inspect -f '{{.Image}} {{.Config.Image}}' claw-it-roll), not b by :rollback"
claw --dry-run run "$POLICY" claw-it-roll --no-pull
expect_rc 0
expect_out_has "use claw-it-cleanup:c as it is here (--no-pull)"
docker rm -f claw-it-roll claw-it-roll-previous >/dev/null 2>&1
docker rmi -f claw-it-cleanup:b claw-it-cleanup:c claw-it-cleanup:rollback claw-it-cleanup:stable "$bid" >/dev/null 2>&1
fresh
done_check

check "a NAME-next left over from elsewhere is replaced, the update goes on"
docker create --name claw-it-roll-next --label leftover=1 $GW:v1 >/dev/null
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0
expect_rc 0
expect_out "claw-it-roll: updated"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
[ -z "$(docker ps -aq --filter label=leftover=1)" ] || fail "the leftover is still there"
only_one
fresh
done_check

check "without a route: stop-first, the gap is reported"
cleanup_containers claw-it-roll
docker run -d --name claw-it-roll -p 127.0.0.1:$((PORT + 1)):18789 $GW:v1 >/dev/null
wait_healthy claw-it-roll
"$CLAW" route remove web claw-it-roll >/dev/null 2>&1
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull
expect_rc 0
expect_err_has "claw-it-roll has no route and publishes 18789/tcp itself: updating stop-first"
expect_err_has "clawengine adopt claw-it-roll"
expect_err_has "claw-it-roll: stop-first gap"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = 2.0.0 ] || fail "not serving v2"
# the gap runs from the old version's stop to the new one's health, not to the end
# of the monitor window
"$CLAW" history claw-it-roll --json | python3 -c 'import json,sys
r=[x for x in json.load(sys.stdin) if x.get("outcome")=="updated"][-1]
t={s["step"]: s["time"] for s in r["timeline"]}
span=t["healthy"]-t["stop-old"]
assert abs(r["gap"]-span) < 0.5, (r["gap"], span)' || fail "the gap is not stop -> healthy"
only_one
done_check

check "without a route, a version that never becomes healthy: the old one starts again"
claw run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 2
expect_rc 1
expect_out_has "claw-it-roll: rolled back: "
expect_err_has "claw-it-roll: stop-first gap "
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = 2.0.0 ] || fail "the old version does not serve"
only_one
done_check

check "without a route, --failure-action pause: the old one starts again, the new one is kept, stopped"
claw run "$POLICY" claw-it-roll --image $GW:never-healthy --no-pull --timeout 2 --failure-action pause
expect_rc 1
expect_out_has "claw-it-roll: paused: "
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = 2.0.0 ] || fail "the old version does not serve"
[ "$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-next 2>&1)" = "exited $GW:never-healthy" ] ||
  fail "claw-it-roll-next: $(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-next 2>&1)"
docker rm -f claw-it-roll-next >/dev/null
only_one
done_check

check "without a route, the rollback command: stop-first, back to v1 on the published port"
claw rollback claw-it-roll
expect_rc 0
expect_out_has "claw-it-roll: rolled back to sha256:"
expect_out_has "; stop-first gap "
[ "$(curl -s --max-time 5 "http://127.0.0.1:$((PORT + 1))/version")" = 1.0.0 ] || fail "not serving v1"
[ "$(docker inspect -f '{{.Config.Image}}' claw-it-roll-previous)" = $GW:v2 ] || fail "v2 not kept as -previous"
only_one
done_check

check "bad inputs: a clear message, the exit code, nothing changed"
snapshot
claw run "$POLICY" claw-it-roll-nope
expect_rc 2
expect_err "clawengine: no container \"claw-it-roll-nope\": No such container: claw-it-roll-nope
usage: clawengine run policies/rolling.lua [OPTIONS] NAME... | --label KEY=VALUE | --compose FILE [SERVICE...]"
claw run "$POLICY" claw-it-roll --backup "$T/no/such/file"
expect_rc 2
expect_err_has "clawengine: --backup $T/no/such/file: cannot be read: No such file or directory"
claw run "$POLICY" claw-it-roll --health 'http://{host}:{port}/api/health' --port 70000
expect_rc 2
expect_err_has "clawengine: --port must be a port number from 1 to 65535, not 70000"
claw run "$POLICY" claw-it-roll --health 'not a url'
expect_rc 2
expect_err_has "clawengine: --health not a url: not an http:// or https:// URL"
claw run "$POLICY" claw-it-roll --image 'Bad Ref!!'
expect_rc 2
expect_err_has 'clawengine: --image: invalid image reference "Bad Ref!!"'
claw run "$POLICY" claw-it-roll --backup-volume claw-it-roll-novol
expect_rc 2
expect_err_has "clawengine: --backup-volume claw-it-roll-novol: no such volume: claw-it-roll-novol"
claw run "$POLICY" --label claw-it-roll=nomatch
expect_rc 2
expect_err_has "clawengine: no running container has the label claw-it-roll=nomatch"
claw run "$POLICY" claw-it-roll --timeout 0
expect_rc 2
expect_err_has "clawengine: --timeout must be seconds above 0, up to 86400, not 0"
claw run "$POLICY" claw-it-roll --order sideways
expect_rc 2
expect_err_has "clawengine: --order must be start-first or stop-first, not \"sideways\""
# a daemon's socket that does not answer (it crashed): refused, not stop-first
/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/stale.sock"
CLAWENGINE_ADMIN=$T/stale.sock claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull
expect_rc 4
expect_err_has "clawengine: cannot reach the clawengine daemon at $T/stale.sock: Connection refused"
claw run "$POLICY" claw-it-roll --image clawtest/none:404 --no-pull
expect_rc 2
expect_err_has "clawengine: --image clawtest/none:404: not here, and --no-pull pulls nothing"
expect_unchanged
done_check

check "a container two routes serve, or not the --route given: refused; one named twice is updated once"
fresh --label claw-it-dup=1
"$CLAW" route create other --listen 127.0.0.1:$((PORT + 2)) --port 18789 --container claw-it-roll >/dev/null ||
  fail "route create other"
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull
expect_rc 2
expect_err_has "clawengine: claw-it-roll is served by the routes other, web: an update moves one route only"
"$CLAW" route delete other >/dev/null
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --route nope
expect_rc 2
expect_err_has "clawengine: route \"nope\" does not serve claw-it-roll (route web does)"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
claw run "$POLICY" claw-it-roll --label claw-it-dup=1 --image $GW:v2 --no-pull --monitor 0
expect_rc 0
expect_out "claw-it-roll: updated"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
only_one
fresh
done_check

check "an error raised in the middle (as a bug would) is undone at once; after retire, recover finishes it"
fresh
echo '{"v":1}' >"$T/cfg/app.json"
for stepname in created switch; do
  CLAWENGINE_TEST_RAISE_AFTER=$stepname claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull \
    --backup "$T/cfg/app.json" --monitor 0
  expect_rc 1
  expect_out_has "claw-it-roll: rolled back: "
  expect_out_has "test: raised after $stepname"
  [ "$(version)" = 1.0.0 ] || fail "after $stepname: serving $(version)"
  docker inspect claw-it-roll-next >/dev/null 2>&1 && fail "after $stepname: claw-it-roll-next is left"
  "$CLAW" history claw-it-roll | tail -1 | grep -q "rolled back" || fail "history: $("$CLAW" history claw-it-roll | tail -1)"
done
only_one
# Once the old version retires, it can only go forward: the error goes up, recover finishes.
CLAWENGINE_TEST_RAISE_AFTER=retire claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull \
  --backup "$T/cfg/app.json" --monitor 0
expect_rc 3
expect_err_has "test: raised after retire"
claw recover
expect_rc 0
expect_out "claw-it-roll: recovered: completed (interrupted after retire)"
[ "$(version)" = 2.0.0 ] || fail "after recover: serving $(version)"
only_one
done_check

# kill -9 right after each step is journaled, then recover: one version serves
# under the name, with its config, and no temporary container is left.
for stepname in begin backup-start backup create created tag healthy switch retire; do
  check "kill -9 after '$stepname', then recover"
  fresh
  echo '{"v":1}' >"$T/cfg/app.json"
  docker rmi $GW:stable >/dev/null 2>&1 || true
  crash_run "$stepname" "$POLICY" claw-it-roll --image $GW:v2 --no-pull \
    --backup "$T/cfg/app.json" --monitor 1
  recover_check claw-it-roll "$stepname"
  if [ "$stepname" = retire ]; then # finished: tagged as a run that succeeds tags it
    [ "$(docker image inspect -f '{{.Id}}' $GW:stable 2>&1)" = "$(docker image inspect -f '{{.Id}}' $GW:v2)" ] ||
      fail ":stable not tagged by recover"
  fi
  done_check
done

# The rollback command, killed after each of its steps: recover undoes it (v2 serves
# on the state it had, v1 is kept as -previous) or, once it switched, finishes it.
crash_rollback() {
  ( CLAWENGINE_TEST_CRASH_AFTER=$1 "$CLAW" rollback claw-it-roll >"$T/out" 2>"$T/err"; exit $? ) 2>/dev/null
  rc=$?
  [ "$rc" = 137 ] || fail "exit code $rc, want 137 (killed after $1): $(cat "$T/err")"
}
for stepname in begin backup created stop-old restore start switch retire; do
  check "rollback killed after '$stepname', then recover"
  fresh
  echo '{"v":1}' >"$T/cfg/app.json"
  claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --backup "$T/cfg/app.json" --monitor 0
  expect_rc 0
  echo '{"v":2}' >"$T/cfg/app.json"
  crash_rollback "$stepname"
  claw recover
  expect_rc 0
  case $stepname in
    switch | retire) want=1.0.0 cfg='{"v":1}' outcome=completed prev=$GW:v2 ;;
    *) want=2.0.0 cfg='{"v":2}' outcome="rolled back" prev=$GW:v1 ;;
  esac
  expect_out_has "claw-it-roll: recovered: $outcome (interrupted after $stepname)"
  [ "$(version)" = $want ] || fail "serving $(version)"
  [ "$(cat "$T/cfg/app.json")" = "$cfg" ] || fail "config: $(cat "$T/cfg/app.json")"
  [ "$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-previous 2>&1)" = "exited $prev" ] ||
    fail "previous: $(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-previous 2>&1)"
  only_one
  claw recover
  expect_err "nothing to recover"
  done_check
done

check "a rollback whose previous version fails its health gate: the current one serves again, unchanged"
fresh -e READY_DELAY=3
echo '{"v":1}' >"$T/cfg/app.json"
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --backup "$T/cfg/app.json" --monitor 0
expect_rc 0
echo '{"v":2}' >"$T/cfg/app.json"
claw rollback claw-it-roll --timeout 1
expect_rc 1
expect_err_has "the current version serves again, unchanged"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
[ "$(cat "$T/cfg/app.json")" = '{"v":2}' ] || fail "config: $(cat "$T/cfg/app.json")"
[ "$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-previous 2>&1)" = "exited $GW:v1" ] ||
  fail "previous: $(docker inspect -f '{{.State.Status}} {{.Config.Image}}' claw-it-roll-previous 2>&1)"
only_one
claw history claw-it-roll --json
expect_out_has '"outcome":"rollback failed"'
claw recover
expect_err "nothing to recover"
done_check

check "a daemon that starts recovers an update interrupted after the switch"
fresh
crash_run switch "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0
kill "$dpid"; wait "$dpid"
"$CLAW" daemon --config "$T/daemon.yml" >"$T/daemon2.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do grep -q "recover of interrupted updates ended" "$T/daemon2.log" && break; sleep 0.1; done
grep -q "recover of interrupted updates ended with status 0" "$T/daemon2.log" || fail "daemon log: $(tail -3 "$T/daemon2.log")"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
claw history claw-it-roll --json
expect_out_has '"outcome":"recovered: rolled back"'
done_check

check "the next run recovers an interrupted update first, then updates"
fresh
crash_run created "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0
claw run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 0
expect_rc 0
expect_out "claw-it-roll: recovered: rolled back (interrupted after created)
claw-it-roll: updated"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
only_one
done_check

check "an update under way is left alone: a second one is refused, recover skips it"
fresh
"$CLAW" run "$POLICY" claw-it-roll --image $GW:v2 --no-pull --monitor 4 >"$T/first" 2>&1 &
first=$!
for _ in $(seq 1 100); do grep -q "switch" "$T/first" && break; sleep 0.1; done
claw run "$POLICY" claw-it-roll --image $GW:v3 --no-pull --monitor 0
expect_rc 1
expect_out_has "claw-it-roll: failed: an update of claw-it-roll is under way or was interrupted ("
claw rollback claw-it-roll
expect_rc 1
expect_err_has "an update of claw-it-roll is under way in another process: wait for it to end"
claw recover
expect_rc 0
expect_err "nothing to recover"
wait $first
[ $? = 0 ] || fail "the first update failed: $(cat "$T/first")"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
only_one
done_check

check "SIGINT during the pull: exit 130 at once, nothing changed, nothing to recover"
# a registry whose stall/app manifest answers after 30 s: the pull is under way
python3 "$HERE/../fixtures/registry_faults.py" 5077 >"$T/faults.log" 2>&1 &
faults=$!
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:5077/stats >/dev/null && break; sleep 0.1; done
fresh
snapshot
"$CLAW" run "$POLICY" claw-it-roll --image localhost:5077/stall/app >"$T/int" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:5077/stats | grep -q "stall/app" && break; sleep 0.1; done
curl -fs http://127.0.0.1:5077/stats | grep -q "stall/app" || fail "the pull did not reach the registry: $(cat "$T/int")"
t0=$(date +%s)
kill -INT $pid
wait $pid
rc=$?
[ "$rc" = 130 ] || fail "exit code $rc: $(cat "$T/int")"
(( $(date +%s) - t0 < 15 )) || fail "the run waited for the registry: $(( $(date +%s) - t0 )) s"
grep -q "clawengine: interrupted" "$T/int" || fail "output: $(cat "$T/int")"
expect_unchanged
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
claw recover
expect_err "nothing to recover"
only_one
done_check

check "SIGINT while stop-first stops the old version: it serves again, exit 130"
# SIGWINCH is ignored: the stop lasts the container's whole stop timeout
fresh --stop-signal SIGWINCH --stop-timeout 3
interrupt_after " stop-old " claw-it-roll --image $GW:v2 --no-pull --monitor 0 --order stop-first
[ "$rc" = 130 ] || fail "exit code $rc: $(cat "$T/int")"
grep -q "^claw-it-roll: rolled back: interrupted" "$T/int" || fail "output: $(cat "$T/int")"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
"$CLAW" route list >"$T/routes" 2>&1
grep -q "paused" "$T/routes" && fail "a pause is left: $(cat "$T/routes")"
grep -Eq "^web .* claw-it-roll +[0-9.:]+ +100 +active" "$T/routes" || fail "routes: $(cat "$T/routes")"
claw recover
expect_err "nothing to recover"
only_one
done_check

check "SIGINT during the monitor window: undone at once, exit 130, 0 failed"
fresh
load_start 6s "http://127.0.0.1:$PORT/" -H "Connection: close"
interrupt_after " switch " claw-it-roll --image $GW:v2 --no-pull --monitor 20
[ "$rc" = 130 ] || fail "exit code $rc: $(cat "$T/int")"
grep -q "clawengine: interrupted" "$T/int" || fail "output: $(cat "$T/int")"
grep -q "^claw-it-roll: rolled back: interrupted" "$T/int" || fail "the outcome is not said: $(cat "$T/int")"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
"$CLAW" history claw-it-roll | tail -n 1 | grep -q "rolled back" || fail "history: $("$CLAW" history claw-it-roll | tail -n 1)"
claw recover
expect_err "nothing to recover"
load_check
only_one
done_check

finish
