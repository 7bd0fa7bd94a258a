#!/usr/bin/env bash
# policies/notify-only.lua against a real registry and a real SMTP server: no update,
# then an update mailed once, not again, again with --always; nothing pulled and no
# container touched; a registry that is down is a failed check, never "no update".
source "$(dirname "$0")/lib.sh"
POLICY="$HERE/../../policies/notify-only.lua"
FIX="$HERE/../fixtures"
RPORT=5081
SPORT=25981
REPO=localhost:$RPORT/clawit/app
OWN="claw-it-notify|$REPO:"
unset CLAWENGINE_NOTIFY

teardown() {
  kill "${reg:-}" "${smtp:-}" 2>/dev/null
  cleanup_containers claw-it-notify
  docker rmi $REPO:latest >/dev/null 2>&1
}
trap teardown EXIT
cleanup_containers claw-it-notify

mkdir -p "$T/registry" "$T/mail"
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$T/registry" "$RPORT" >"$T/registry.yml"
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
reg=$!
/usr/bin/python3 "$FIX/smtp_sink.py" --port $SPORT --dir "$T/mail" >"$T/smtp.log" 2>&1 &
smtp=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$RPORT/v2/" >/dev/null && [ -e "$T/mail/ready" ] && break; sleep 0.1; done
[ -e "$T/mail/ready" ] || { echo "the SMTP server did not start:"; cat "$T/smtp.log"; exit 1; }

# v1 in the registry, pulled from there (so the image has its registry digest)
docker tag $GW:v1 $REPO:latest
docker push -q $REPO:latest >/dev/null
docker rmi $REPO:latest >/dev/null
docker pull -q $REPO:latest >/dev/null
docker run -d --name claw-it-notify $REPO:latest >/dev/null
MAIL="smtp://127.0.0.1:$SPORT/?from=claw@example.test&to=ops@example.test&starttls=no"
mails() { ls "$T/mail"/*.eml 2>/dev/null | wc -l; }

check "no update: exit 0, no mail"
snapshot
claw run "$POLICY" claw-it-notify --notify "$MAIL"
expect_rc 0
expect_out "claw-it-notify ($REPO:latest): up to date"
[ "$(mails)" = 0 ] || fail "mailed"
expect_unchanged
done_check

check "v2 pushed to the same tag: one update, mailed once"
docker tag $GW:v2 $REPO:latest
docker push -q $REPO:latest >/dev/null
docker tag $GW:v1 $REPO:latest   # the local tag back where it was
new=$(curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://127.0.0.1:$RPORT/v2/clawit/app/manifests/latest" | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
snapshot
claw run "$POLICY" claw-it-notify --notify "$MAIL"
expect_rc 5
expect_out_has "claw-it-notify ($REPO:latest): update available: latest ${new:0:19}"
[ "$(mails)" = 1 ] || fail "$(mails) mails"
eml=$(ls "$T/mail"/*.eml | head -1)
grep -q "^Subject: clawengine: 1 update available: claw-it-notify" "$eml" || fail "subject: $(grep ^Subject "$eml")"
grep -q "^To: ops@example.test" "$eml" || fail "to"
grep -q "update:  clawengine run policies/rolling.lua claw-it-notify" "$eml" || fail "body: $(cat "$eml")"
grep -q "ops@example.test" "${eml%.eml}.env" || fail "recipient"
expect_unchanged
done_check

check "run again: not mailed again; --always: mailed again"
claw run "$POLICY" claw-it-notify --notify "$MAIL"
expect_rc 5
[ "$(mails)" = 1 ] || fail "mailed again"
claw run "$POLICY" claw-it-notify --notify "$MAIL" --always
expect_rc 5
[ "$(mails)" = 2 ] || fail "--always did not mail"
done_check

check "--json"
claw run "$POLICY" claw-it-notify --json
expect_rc 5
p=$(policy j.lua 'local json = require "claw.json"
local r = json.decode(io.read("a"))[1]
print(r.name, r.status, r.new.digest, r.notified)')
[ "$(printf '%s' "$out" | "$CLAW" run "$p")" = "claw-it-notify	update available	$new	true" ] || fail "json: $out"
done_check

check "--include-stopped: a stopped container is checked too"
docker create --name claw-it-notify-stopped --label claw.it.notify=stopped $REPO:latest >/dev/null
claw run "$POLICY" --label claw.it.notify=stopped
expect_rc 0
[[ $out != *claw-it-notify-stopped* ]] || fail "a stopped container checked without --include-stopped: $out"
claw run "$POLICY" --label claw.it.notify=stopped --include-stopped
expect_rc 5
expect_out_has "claw-it-notify-stopped ($REPO:latest): update available: latest ${new:0:19}"
docker rm claw-it-notify-stopped >/dev/null
done_check

check "a registry that is down: a failed check, exit 6, never 'up to date'"
kill $reg
wait $reg 2>/dev/null
snapshot
claw run "$POLICY" claw-it-notify
expect_rc 6
expect_out_has "claw-it-notify ($REPO:latest): check failed: $REPO:latest: cannot reach localhost:$RPORT: connection refused"
expect_unchanged
# an image built here is not checked, and asks no registry
docker run -d --name claw-it-notify-built $GW:v1 >/dev/null
claw run "$POLICY" claw-it-notify-built --tags semver
expect_rc 0
expect_out_has "claw-it-notify-built ($GW:v1): not checked"
docker rm -f claw-it-notify-built >/dev/null
done_check

check "a mail server that refuses: exit 7, the reason logged"
# (the registry is down too: the check fails, so there is nothing to mail; start it again)
docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
reg=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$RPORT/v2/" >/dev/null && break; sleep 0.1; done
claw run "$POLICY" claw-it-notify --notify "smtp://127.0.0.1:$SPORT/?from=claw@example.test&to=nobody@example.test&starttls=no" --always
expect_rc 7
expect_err_has "notification not sent"
expect_err_has "Recipient address rejected"
done_check

check "bad options"
claw run "$POLICY" --tags newest
expect_rc 2
expect_err_has "clawengine: --tags must be same, semver or calver, not \"newest\""
claw run "$POLICY" --notify "carrier-pigeon://x"
expect_rc 2
expect_err_has "clawengine: --notify carrier-pigeon://x: "
claw run "$POLICY" --concurrency 0
expect_rc 2
expect_err_has "clawengine: --concurrency must be a whole number from 1 to 1000, not 0"
claw run "$POLICY" --tags semver --include '('
expect_rc 2
expect_err_has "clawengine: --include (: invalid include pattern"
done_check

finish
