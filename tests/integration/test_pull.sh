#!/usr/bin/env bash
# docker.pull from a real registry (Debian's docker-registry on 127.0.0.1).
source "$(dirname "$0")/lib.sh"

PORT=5071
REPO=localhost:$PORT/$GW
OWN="claw-it-pull|$REPO:"
mkdir -p "$T/registry"
cat >"$T/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; cleanup_containers claw-it-pull-; docker rmi $REPO:v1 $REPO:app >/dev/null 2>&1' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null || { echo "the registry did not start:"; cat "$T/registry.log"; exit 1; }
docker tag $GW:v1 $REPO:v1
docker push -q $REPO:v1 >/dev/null
docker rmi $REPO:v1 >/dev/null

p=$(policy pull.lua 'local docker = require "claw.docker"
local r, err = docker.pull(arg[1])
if not r then print(err.code, err.message) return false end
print(r.updated, r.id == docker.image(os.getenv("GW") .. ":v1").Id, r.digest:match("^sha256:%x+$") ~= nil)')

check "pull an image that is not here"
claw run "$p" $REPO:v1
expect_rc 0
expect_out "true	true	true"
docker image inspect $REPO:v1 >/dev/null 2>&1 || fail "image not there after pull"
done_check

check "pull again: up to date"
claw run "$p" $REPO:v1
expect_rc 0
expect_out "false	true	true"
done_check

check "an unknown tag: not_found, nothing pulled"
snapshot
claw run "$p" $REPO:nope
expect_rc 1
expect_out_has "not_found	cannot pull $REPO:nope: manifest for $REPO:nope not found"
expect_unchanged
done_check

check "a registry that does not answer"
snapshot
claw run "$p" localhost:5072/$GW:v1
expect_rc 1
expect_out_has "connection refused"
expect_unchanged
done_check

check "an update from the registry: the history has both registry digests"
docker tag $GW:v1 $REPO:app
docker push -q $REPO:app >/dev/null
old_digest=$(docker image inspect -f '{{index .RepoDigests 0}}' $REPO:app)
docker run -d --name claw-it-pull-app $REPO:app >/dev/null
docker tag $GW:v2 $REPO:app
docker push -q $REPO:app >/dev/null
new_digest=$(docker image inspect -f '{{index .RepoDigests 0}}' $REPO:app)
docker tag $GW:v1 $REPO:app # the pull must bring v2 back
claw run rolling claw-it-pull-app --monitor 0
expect_rc 0
expect_out "claw-it-pull-app: updated"
claw history claw-it-pull-app --json
expect_rc 0
got=$(python3 -c 'import json,sys; r=json.load(sys.stdin)[-1]; print(r["old_digest"], r["new_digest"], r["outcome"])' <<<"$out")
[ "$got" = "${old_digest#*@} ${new_digest#*@} updated" ] || fail "history: $got, want ${old_digest#*@} ${new_digest#*@} updated"
[ "$(docker inspect -f '{{.Image}}' claw-it-pull-app)" = "$(docker image inspect -f '{{.Id}}' $GW:v2)" ] ||
  fail "claw-it-pull-app does not run v2"
done_check

finish
