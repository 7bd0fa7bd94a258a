#!/usr/bin/env bash
# policies/status.lua lists real containers.
source "$(dirname "$0")/lib.sh"
POLICY="$HERE/../../policies/status.lua"

cleanup_containers claw-it-status
# Images of its own, never pushed: a pushed image would show a registry digest.
for v in up off; do
  printf "FROM $GW:v1\nLABEL status-test=%s\n" "$v" | docker build -q -t claw-it-status:$v - >/dev/null
done
trap 'cleanup_containers claw-it-status; docker rmi claw-it-status:up claw-it-status:off >/dev/null 2>&1' EXIT
docker run -d --name claw-it-status-up --label clawtest=status claw-it-status:up >/dev/null
docker create --name claw-it-status-off --label clawtest=status claw-it-status:off >/dev/null
for _ in $(seq 1 50); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' claw-it-status-up)" = healthy ] && break
  sleep 0.2
done

check "table of running containers by label"
claw run "$POLICY" --label clawtest=status
expect_rc 0
[ "$(sed -n 1p <<<"$out")" = "NAME               IMAGE              DIGEST  STATE    HEALTH   UPTIME" ] || fail "header: $out"
grep -qE '^claw-it-status-up +claw-it-status:up +- +running +healthy +[0-9]+s$' <<<"$out" || fail "row: $out"
grep -q claw-it-status-off <<<"$out" && fail "stopped container listed without --all"
done_check

check "--all, --name and JSON"
claw run "$POLICY" --all --name claw-it-status --json
expect_rc 0
p=$(policy parse.lua 'local json = require "claw.json"
local list = assert(json.decode(io.read("a")))
for _, c in ipairs(list) do print(c.name, c.image, c.state, c.health == json.null and "null" or c.health, c.digest == json.null, c.id:len()) end')
printf '%s' "$out" | "$CLAW" run "$p" >"$T/parsed"
[ "$(cat "$T/parsed")" = "claw-it-status-off	claw-it-status:off	created	null	true	64
claw-it-status-up	claw-it-status:up	running	healthy	true	64" ] || fail "json: $(cat "$T/parsed")"
done_check

check "the global --json gives JSON too"
claw --json run "$POLICY" --name claw-it-status-up
expect_rc 0
[ "${out:0:1}" = "[" ] || fail "not JSON: $out"
done_check

check "usage error and no match"
claw run "$POLICY" --colour
expect_rc 2
expect_err "clawengine: unknown option --colour
usage: clawengine run policies/status.lua [OPTIONS] [NAME...]"
claw run "$POLICY" --name claw-it-status-nothing-like-this
expect_rc 0
expect_err "no containers match"
done_check


finish
