#!/usr/bin/env bash
# claw.docker against the real daemon (docker_api.lua), and --dry-run changing nothing.
source "$(dirname "$0")/lib.sh"

check "docker_api.lua"
claw run "$HERE/docker_api.lua"
expect_rc 0
[ "$rc" = 0 ] || echo "$err" >&2
echo "$out" | tail -n 1
done_check

check "--dry-run: mutating calls log and change nothing"
cleanup_containers claw-it-dry
docker create --name claw-it-dry clawtest/gateway:v1 >/dev/null
snapshot
p=$(policy dry.lua 'local docker = require "claw.docker"
print(assert(docker.create { name = "claw-it-dry-new", Image = "clawtest/gateway:v1" }))
assert(docker.start("claw-it-dry"))
assert(docker.rename("claw-it-dry", "claw-it-dry-x"))
assert(docker.tag("clawtest/gateway:v1", "clawtest/gateway:dry"))
assert(docker.pull("clawtest/gateway:v9"))
assert(docker.remove("claw-it-dry", { force = true }))
print(require("claw.engine").dry_run)')
claw --dry-run run "$p"
expect_rc 0
expect_out "dry-run:claw-it-dry-new
true"
for w in "would create container claw-it-dry-new from clawtest/gateway:v1" "would start claw-it-dry" \
         "would rename claw-it-dry to claw-it-dry-x" "would tag clawtest/gateway:v1 as clawtest/gateway:dry" \
         "would pull clawtest/gateway:v9" "would remove container claw-it-dry"; do
  expect_err_has "$w"
done
expect_unchanged
cleanup_containers claw-it-dry
done_check

finish
