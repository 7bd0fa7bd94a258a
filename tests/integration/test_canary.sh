#!/usr/bin/env bash
# policies/canary.lua on the real engine behind the traffic switch: a good canary
# promoted under load with no failed request; one that turns unhealthy at the first
# step aborted (share back, canary gone, state restored, the connections it got
# reported); no traffic: synthetic probes decide; a site check; a Compose service
# (canary, then the rest); bad inputs; kill -9 at the canary's steps, then recover;
# --notify of outcomes for canary.lua and rolling.lua.
source "$(dirname "$0")/lib.sh"
POLICY="$HERE/../../policies/canary.lua"
ROLLING="$HERE/../../policies/rolling.lua"
PY=/usr/bin/python3
PORT=28980
HOOKS=25996
unset CLAWENGINE_NOTIFY
C=claw-it-canary
OWN=$C

teardown() {
  [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  [ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
  cleanup_containers $C
  docker rmi $GW:rollback $GW:stable >/dev/null 2>&1 || true
}
trap teardown EXIT
cleanup_containers $C

web_route_config $C "  cweb:
    listen: [ \"127.0.0.1:$((PORT + 1))\" ]
    container: $C-c-web-1
    port: 18789"
fresh() { fresh_behind_route $C "$@"; } # docker run args may follow

# wrk through the route, every request on a new connection, so that the route's
# shares apply to the load as it runs.
load() { load_start "$1" "http://127.0.0.1:$PORT/" -c8 -H "Connection: close"; }

only_one() { # exactly one $C container running, under the name; no -next; the route has it alone
  [ "$(docker ps --filter name=$C --format '{{.Names}}' | grep -v -- "-c-web" | sort | tr '\n' ' ')" = "$C " ] ||
    fail "running: $(docker ps --filter name=$C --format '{{.Names}}' | tr '\n' ' ')"
  docker inspect $C-next >/dev/null 2>&1 && fail "$C-next left behind"
  "$CLAW" route list >"$T/routes" 2>&1
  [ "$(grep -c "^web " "$T/routes")" = 1 ] || fail "route web: $(cat "$T/routes")"
  grep -q "^web .* $C .* 100 *active" "$T/routes" || fail "route web: $(cat "$T/routes")"
  return 0
}

# the N in "N connection(s) reached the canary" of $out
reached() { sed -n 's/.*[^0-9]\([0-9][0-9]*\) connection(s) reached the canary.*/\1/p' <<<"$out" | head -n 1; }

docker run -d --name $C $GW:v1 >/dev/null
wait_healthy $C
"$CLAW" daemon --config "$T/daemon.yml" >"$T/daemon.log" 2>&1 &
dpid=$!
"$PY" "$HERE/../fixtures/webhook_sink.py" $HOOKS "$T/hooks" >"$T/hooks.log" 2>&1 &
hpid=$!
for _ in $(seq 1 100); do [ -S "$T/admin.sock" ] && [ -f "$T/hooks.ready" ] && break; sleep 0.05; done
[ -f "$T/hooks.ready" ] || { cat "$T/hooks.log" >&2; exit 1; }
hook() { sed -n "${1}p" "$T/hooks"; }

check "a good canary under load: promoted step by step, 0 failed requests, outcome notified"
mkdir -p "$T/cfg" && echo '{"v":1}' >"$T/cfg/app.json"
load 8s
sleep 0.5
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 10,50,100 --step-duration 1.5 \
  --backup "$T/cfg/app.json" --notify "http://127.0.0.1:$HOOKS/canary"
expect_rc 0
expect_out_has "$C: updated ("
n=$(reached)
echo "$current: the canary got $n connections: $out" >&2
[ "${n:-0}" -gt 0 ] || fail "no connection reached the canary: $out"
expect_out_has "connection(s) reached the canary, 0 failed; the old container had"
load_check 1000
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
[ "$(docker inspect -f '{{.State.Status}} {{.Config.Image}}' $C-previous)" = "exited $GW:v1" ] ||
  fail "previous: $(docker inspect -f '{{.State.Status}} {{.Config.Image}}' $C-previous)"
[ "$(docker image inspect -f '{{.Id}}' $GW:stable)" = "$(docker image inspect -f '{{.Id}}' $GW:v2)" ] || fail ":stable"
only_one
claw history $C
expect_out_has "$C  canary"
expect_out_has "updated"
claw history $C --json
expect_out_has '"step":"weight"'
expect_out_has '"percent":50'
expect_out_has '"canary":{'
expect_out_has "\"connections\":$n"
h=$(hook 1)
grep -qF '"path": "/canary"' <<<"$h" || fail "no notification: $h"
grep -qF "\"title\": \"clawengine: $C updated to 2.0.0\"" <<<"$h" || fail "notification: $h"
grep -qF "$C: updated" <<<"$h" || fail "notification: $h"
done_check

check "a canary that turns unhealthy at the first step: aborted, share back, canary removed, state restored"
mkdir -p "$T/state"
fresh -v "$T/state:/state" -e STATE_FILE=/state/version
[ "$(cat "$T/state/version")" = 1.0.0 ] || fail "v1 did not write its state"
load 7s
sleep 0.5
claw run "$POLICY" $C --image $GW:turns-unhealthy --no-pull --steps 5,50,100 --step-duration 8 \
  --health 'http://{host}:{port}/api/health' --backup "$T/state/version"
expect_rc 1
expect_out_has "$C: rolled back: canary step 1 (5%): "
expect_out_has "status 503"
n=$(reached)
echo "$current: the analysis reported $n connections to the canary: $out" >&2
[ "${n:-0}" -gt 0 ] || fail "the analysis reports no connection to the canary: $out"
load_check 1000
[ "$(cat "$T/state/version")" = 1.0.0 ] || fail "state not restored: $(cat "$T/state/version")"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
claw history $C --json
expect_out_has "\"restored\":[\"$T/state/version\"]"
expect_out_has '"kind":"canary"'
done_check

check "no traffic: the synthetic probes fail, the canary is not promoted"
fresh
claw run "$POLICY" $C --image $GW:broken-api --no-pull --steps 50,100 --step-duration 0.5 \
  --probe /api/data --probes 3
expect_rc 1
expect_out_has "$C: rolled back: canary step 1 (50%): no connection reached the canary and 3 of 3 synthetic probe(s) failed: GET http://"
expect_out_has "/api/data: status 500"
expect_out_has "0 connection(s) reached the canary, 0 failed"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
done_check

check "no traffic: the synthetic probes pass at every step, the canary is promoted"
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 50,100 --step-duration 0.5 --probe /api/data
expect_rc 0
expect_out "$C: updated (0 connection(s) reached the canary, 0 failed; the old container had 0, 0 failed)"
[ "$(grep -c "no connection reached the canary: synthetic probes passed" <<<"$err")" = 2 ] ||
  fail "synthetic probes not sent at each step: $err"
[ "$(version)" = 2.0.0 ] || fail "serving $(version)"
only_one
done_check

check "a site check reads the canary's own answer and stops it at its step"
fresh
cat >"$T/check.lua" <<'LUA'
local health = require "claw.health"
return function(ctx)
  local body = assert(health.http("http://" .. ctx.canary.address .. "/api/health"))
  if ctx.percent >= 50 and body.version ~= "3.0.0" then
    return false, string.format("version %s at %d%% (weight %d, baseline %d)", body.version, ctx.percent,
      ctx.weights.canary, ctx.weights.baseline)
  end
  return true
end
LUA
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 10,50,100 --step-duration 0.3 --check "$T/check.lua"
expect_rc 1
expect_out_has "$C: rolled back: canary step 2 (50%): site check $T/check.lua: version 2.0.0 at 50% (weight 50, baseline 50)"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
done_check

check "a Compose service of 2: the first is the canary, the other follows the rolling way (or is skipped)"
cat >"$T/compose.yml" <<YML
name: $C-c
services:
  web:
    image: $GW:v2
    deploy:
      update_config:
        parallelism: 1
        monitor: 0s
YML
for i in 1 2; do
  docker run -d --name $C-c-web-$i --label com.docker.compose.project=$C-c \
    --label com.docker.compose.service=web $GW:v1 >/dev/null
done
wait_healthy $C-c-web-1
wait_healthy $C-c-web-2
for i in 1 2; do "$CLAW" route add cweb $C-c-web-$i --weight 100 >/dev/null; done
claw --dry-run run "$POLICY" --compose "$T/compose.yml" --no-pull --steps 50,100
expect_rc 0
expect_out_has "$C-c-web-1: planned"
expect_out_has "$C-c-web-2: planned"
# (failure_action continue would go on with the next container: not after a canary)
sed 's/monitor: 0s/monitor: 0s\n        failure_action: continue/' "$T/compose.yml" >"$T/compose-continue.yml"
claw run "$POLICY" --compose "$T/compose-continue.yml" --image $GW:broken-api --no-pull \
  --steps 50,100 --step-duration 0.3 --probe /api/data --probes 2
expect_rc 1
expect_out_has "$C-c-web-1: rolled back: canary step 1 (50%): no connection reached the canary and 2 of 2 synthetic"
expect_out_has "$C-c-web-2: skipped: the canary $C-c-web-1 did not pass"
for i in 1 2; do
  [ "$(docker inspect -f '{{.Config.Image}}' $C-c-web-$i)" = $GW:v1 ] || fail "replica $i not on v1"
done
claw run "$POLICY" --compose "$T/compose.yml" --no-pull --steps 50,100 --step-duration 0.5 --probes 2
expect_rc 0
expect_out "$C-c-web-1: updated (0 connection(s) reached the canary, 0 failed; the old container had 0, 0 failed)
$C-c-web-2: updated"
claw history $C-c-web-1
expect_out_has "canary"
claw history $C-c-web-2
expect_out_has "update"
for i in 1 2; do
  [ "$(docker inspect -f '{{.Config.Image}}' $C-c-web-$i)" = $GW:v2 ] || fail "replica $i not on v2"
done
claw route list
[ "$(grep -c "^cweb .* 100 *active" <<<"$out")" = 2 ] || fail "route shares: $out"
cleanup_containers $C-c-web
done_check

check "bad inputs: a clear message, exit code 2, nothing changed"
fresh
docker run -d --name $C-bare $GW:v1 >/dev/null
snapshot
U="usage: clawengine run policies/canary.lua [OPTIONS] NAME | --label KEY=VALUE | --compose FILE [SERVICE...]"
claw run "$POLICY" $C-bare --image $GW:v2 --no-pull
expect_rc 2
expect_err "clawengine: $C-bare is not served by a route of the daemon: a canary needs the traffic switch to share new connections (\`clawengine adopt $C-bare --route NAME --listen ADDR\` puts it behind one)
$U"
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 5,25,50
expect_rc 2
expect_err "clawengine: --steps 5,25,50: the last step must be 100 (the canary takes every new connection before it is promoted)
$U"
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 50,25,100
expect_rc 2
expect_err "clawengine: --steps 50,25,100: the steps must increase (25 after 50)
$U"
claw run "$POLICY" $C --image $GW:v2 --no-pull --steps 0,100
expect_rc 2
expect_err "clawengine: --steps 0,100: \"0\" is not a whole percentage from 1 to 100
$U"
claw run "$POLICY" $C-nope --image $GW:v2 --no-pull
expect_rc 2
expect_err "clawengine: no container \"$C-nope\": No such container: $C-nope
$U"
echo 'return 42' >"$T/notfn.lua"
claw run "$POLICY" $C --image $GW:v2 --no-pull --check "$T/notfn.lua"
expect_rc 2
expect_err "clawengine: --check $T/notfn.lua: the file must return a function(ctx), not a number
$U"
claw run "$POLICY" $C --image $GW:v2 --no-pull --route nope
expect_rc 2
expect_err "clawengine: route \"nope\" does not serve $C (route web does)
$U"
claw --dry-run run "$POLICY" $C --image $GW:v2 --steps 20,100 --step-duration 2
expect_rc 0
expect_out_has "  step 1: route web gives 20% of $C's new connections to $C-next"
expect_out_has "$C: planned"
expect_unchanged
docker rm -f $C-bare >/dev/null
done_check

# kill -9 right after each of the canary's own steps is journaled, then recover: the
# old version serves under its name with its whole share, no canary is left.
for stepname in weight@10 weight@100 retire; do
  check "kill -9 after '$stepname', then recover"
  fresh
  echo '{"v":1}' >"$T/cfg/app.json"
  crash_run "$stepname" "$POLICY" $C --image $GW:v2 --no-pull --backup "$T/cfg/app.json" \
    --steps 10,100 --step-duration 0.3
  recover_check $C "$stepname"
  done_check
done

check "an error raised at a canary step (as a bug would) is undone at once"
fresh
echo '{"v":1}' >"$T/cfg/app.json"
CLAWENGINE_TEST_RAISE_AFTER=weight@10 claw run "$POLICY" $C --image $GW:v2 --no-pull \
  --backup "$T/cfg/app.json" --steps 10,100 --step-duration 0.3
expect_rc 1
expect_out_has "$C: rolled back: "
expect_out_has "test: raised after weight@10"
[ "$(version)" = 1.0.0 ] || fail "serving $(version)"
only_one
"$CLAW" history $C | tail -n 1 | grep -q "rolled back" || fail "history: $("$CLAW" history $C | tail -n 1)"
done_check

check "rolling.lua --notify: the rollback is notified; a target that fails is said, the exit code stays"
fresh
claw run "$ROLLING" $C --image $GW:never-healthy --no-pull --timeout 2 \
  --notify "http://127.0.0.1:$HOOKS/rolling"
expect_rc 1
expect_out_has "$C: rolled back: "
h=$(tail -n 1 "$T/hooks")
grep -qF '"path": "/rolling"' <<<"$h" || fail "no notification: $h"
grep -qF "\"title\": \"clawengine: $C rolled back: " <<<"$h" || fail "notification: $h"
claw run "$ROLLING" $C --image $GW:v2 --no-pull --monitor 0 \
  --notify "http://127.0.0.1:$HOOKS/status/500" --notify "http://127.0.0.1:$HOOKS/rolling-ok"
expect_rc 0
expect_out "$C: updated"
expect_err_has "clawengine: the outcome could not be sent to 1 of 2 notification target(s)"
h=$(tail -n 1 "$T/hooks")
grep -qF '"path": "/rolling-ok"' <<<"$h" || fail "no notification: $h"
grep -qF "\"title\": \"clawengine: $C updated to 2.0.0\"" <<<"$h" || fail "notification: $h"
claw run "$ROLLING" $C --image $GW:v2 --no-pull --notify "bogus://x"
expect_rc 2
expect_err_has "clawengine: --notify bogus://x: unknown notification scheme \"bogus\""
done_check

finish
