#!/usr/bin/env bash
# claw.health on real containers (health.lua), and SIGINT ending a wait at once.
source "$(dirname "$0")/lib.sh"

check "health.lua"
claw run "$HERE/health.lua"
expect_rc 0
[ "$rc" = 0 ] || echo "$err" >&2
echo "$out" | grep '^health:'
echo "$out" | tail -n 1
done_check

# interrupted NAME CALL: runs a policy that prints "waiting" and makes CALL, sends
# SIGINT 0.3 s later and expects exit 130 within 0.5 s.
interrupted() {
  check "SIGINT during $1: exit 130 at once"
  local p
  p=$(policy int.lua "local health = require \"claw.health\"
local ip = assert(health.url(\"{host}\", \"claw-it-health-int\"))
print(\"waiting\")
io.stdout:flush()
$2
print(\"not reached\")")
  interrupt_run waiting "$p"
  done_check
}

cleanup_containers claw-it-health-int
docker run -d --name claw-it-health-int -e NEVER_HEALTHY=1 $GW:v1 >/dev/null
# between attempts (in the 5 s interval), and inside one (a 5 s answer)
interrupted "health.wait" \
  'health.wait({ http = "http://" .. ip .. ":18789/api/health" }, { timeout = 60, interval = 5 })'
interrupted "an HTTP probe" 'health.http("http://" .. ip .. ":18789/slow?ms=5000", { timeout = 10 })'
interrupted "a docker wait" 'health.wait({ docker = "claw-it-health-int" }, { timeout = 60, interval = 5 })'
cleanup_containers claw-it-health-int

finish
