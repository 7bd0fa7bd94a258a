#!/usr/bin/env bash
# claw.docker against the real daemon (docker_api.lua), and --dry-run changing nothing.
source "$(dirname "$0")/lib.sh"
OWN='claw-it-dry'

check "docker_api.lua"
claw run "$HERE/docker_api.lua"
expect_rc 0
[ "$rc" = 0 ] || echo "$err" >&2
echo "$out" | tail -n 1
done_check

check "--dry-run: mutating calls log and change nothing"
cleanup_containers claw-it-dry
docker create --name claw-it-dry $GW:v1 >/dev/null
snapshot
p=$(policy dry.lua 'local docker = require "claw.docker"
local gw = os.getenv("GW")
print(assert(docker.create { name = "claw-it-dry-new", Image = gw .. ":v1" }))
assert(docker.start("claw-it-dry"))
assert(docker.rename("claw-it-dry", "claw-it-dry-x"))
assert(docker.tag(gw .. ":v1", gw .. ":dry"))
assert(docker.pull(gw .. ":v9"))
assert(docker.remove("claw-it-dry", { force = true }))
print(require("claw.engine").dry_run)')
claw --dry-run run "$p"
expect_rc 0
expect_out "dry-run:claw-it-dry-new
true"
for w in "would create container claw-it-dry-new from $GW:v1" "would start claw-it-dry" \
         "would rename claw-it-dry to claw-it-dry-x" "would tag $GW:v1 as $GW:dry" \
         "would pull $GW:v9" "would remove container claw-it-dry"; do
  expect_err_has "$w"
done
expect_unchanged
cleanup_containers claw-it-dry
done_check

finish
