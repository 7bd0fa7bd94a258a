#!/usr/bin/env bash
# Bad input: one clear message naming what was wrong and where, a documented exit
# code, and nothing changed in Docker or on disk.
source "$(dirname "$0")/lib.sh"
OWN='claw-it-bad'

cleanup_containers claw-it-bad
trap 'cleanup_containers claw-it-bad' EXIT
docker create --name claw-it-bad-a $GW:v1 >/dev/null
docker create --name claw-it-bad-b $GW:v1 >/dev/null
D=$T/data
mkdir -p "$D"
printf 'services:\n  web:\n    image: x\n   ports: [1]\n' >"$D/compose.yml"
printf '{"name": "gw", "port": 18789,}' >"$D/config.json"
files() { (cd "$D" && find . -exec stat -c '%n %s %Y %a' {} + && find . -type f -exec sha256sum {} +) | sort; }

# bad NAME EXPECTED_RC EXPECTED_MESSAGE POLICY_TEXT [LINE]
bad() {
  check "$1"
  local p
  p=$(policy "bad-$RANDOM.lua" "$4")
  snapshot
  files >"$T/files.before"
  claw run "$p"
  expect_rc "$2"
  [ "$(sed -n 1p <<<"$err")" = "clawengine: $p:${5:-1}: $3" ] || fail "first line: $err"
  expect_unchanged
  files | diff -u "$T/files.before" - >/dev/null || fail "files changed"
  done_check
}

b_id=$(docker inspect -f '{{.Id}}' claw-it-bad-b)
bad "unknown container" 3 "No such container: claw-it-bad-none" \
  'local docker = require "claw.docker"; assert(docker.stop("claw-it-bad-none"))'
bad "unknown image" 3 "No such image: clawtest/none:1" \
  'local docker = require "claw.docker"; assert(docker.create { name = "claw-it-bad-c", Image = "clawtest/none:1" })'
bad "the daemon answers an error (name in use)" 3 \
  "Error when allocating new name: Conflict. The container name \"/claw-it-bad-b\" is already in use by container \"$b_id\". You have to remove (or rename) that container to be able to reuse that name." \
  'local docker = require "claw.docker"; assert(docker.rename("claw-it-bad-a", "claw-it-bad-b"))'
bad "malformed YAML" 3 "$D/compose.yml:4:4: did not find expected key" \
  "local yaml = require 'claw.yaml'; assert(yaml.compose('$D/compose.yml'))"
bad "malformed JSON" 3 "invalid JSON at byte 29 near '}'" \
  "local json = require 'claw.json'; local f = io.open('$D/config.json'); assert(json.decode(f:read('a')))"
bad "an invalid image reference" 3 'invalid image reference "UPPER/case"' \
  'local docker = require "claw.docker"; assert(docker.pull("UPPER/case"))'
bad "a runtime error in a policy" 3 "attempt to index a nil value (global 'nothing')" \
  'local docker = require "claw.docker"
local x = nothing.field' 2

finish
