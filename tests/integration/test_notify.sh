#!/usr/bin/env bash
# claw.notify against real servers on 127.0.0.1 (ports 25990-25995): aiosmtpd plain,
# refusing (550 at RCPT, 554 after DATA), with STARTTLS and a login (a CA made here
# with openssl), with implicit TLS, and one that never answers (SIGINT, timeout);
# a webhook receiver for the generic, Slack, Discord, ntfy and Gotify bodies, a 500
# and a slow answer; dry-run; $CLAWENGINE_NOTIFY; the default templates; and no
# password in any output.
source "$(dirname "$0")/lib.sh"
FIX=$(cd "$HERE/../fixtures" && pwd)
SEND="$HERE/notify_send.lua"
PY=/usr/bin/python3
"$PY" -c 'import aiosmtpd' 2>/dev/null || PY=python3
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

wait_file() {
  for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.05; done
  echo "no $1" >&2
  return 1
}

# start_smtp NAME PORT [ARGS...]: an aiosmtpd sink writing into $T/NAME.
start_smtp() {
  local name=$1 port=$2
  shift 2
  "$PY" "$FIX/smtp_sink.py" --port "$port" --dir "$T/$name" "$@" >"$T/$name.log" 2>&1 &
  pids+=($!)
  wait_file "$T/$name/ready" || cat "$T/$name.log" >&2
}

# The received mail with Date and Message-ID made constant, CRs shown as "\r".
mail_of() { sed -e 's/^Date: .*\r$/Date: (date)\r/' -e 's/^Message-ID: .*\r$/Message-ID: (id)\r/' -e 's/\r$/\\r/' "$1"; }

# ---- a test CA and a certificate for 127.0.0.1 ----------------------------------
(
  cd "$T"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=clawengine test CA" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
    -keyout srv.key -out srv.csr
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >srv.ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile srv.ext -out srv.pem
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; exit 1; }
printf 's3cret-from-file\n' >"$T/smtp_password"

start_smtp plain 25990
start_smtp refuse 25991
start_smtp tls 25992 --cert "$T/srv.pem" --key "$T/srv.key" --login claw:s3cret-from-file
start_smtp smtps 25993 --cert "$T/srv.pem" --key "$T/srv.key" --implicit
start_smtp hang 25994 --hang
"$PY" "$FIX/webhook_sink.py" 25995 "$T/hooks" >"$T/hooks.log" 2>&1 &
pids+=($!)
wait_file "$T/hooks.ready" || cat "$T/hooks.log" >&2
hook() { sed -n "${1}p" "$T/hooks"; }

check "mail: recipients, headers and body as sent"
NOTIFY_FIELDS='{"container":"web","count":2}' claw run "$SEND" \
  "smtp://127.0.0.1:25990/?from=claw@example.com&to=ops@example.com,dev%2Bclaw@example.org&fromname=Claw%20Engine" \
  "clawengine: 1 update available" $'web (nginx:1.27)\n  update: clawengine run policies/rolling.lua web\n.\nend'
expect_rc 0
expect_out "sent"
[ "$(cat "$T/plain/1.env")" = "MAIL FROM claw@example.com
RCPT TO ops@example.com
RCPT TO dev+claw@example.org
TLS no
LOGIN -" ] || fail "envelope: $(cat "$T/plain/1.env")"
got=$(mail_of "$T/plain/1.eml")
want='Date: (date)\r
Message-ID: (id)\r
Subject: clawengine: 1 update available\r
From: Claw Engine <claw@example.com>\r
To: ops@example.com, dev+claw@example.org\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: 8bit\r
\r
web (nginx:1.27)\r
  update: clawengine run policies/rolling.lua web\r
.\r
end\r
\r
container: web\r
count: 2\r'
[ "$got" = "$want" ] || fail "mail:
$got
want:
$want"
grep -qE '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000'$'\r''$' "$T/plain/1.eml" ||
  fail "Date: $(grep ^Date "$T/plain/1.eml")"
grep -qE '^Message-ID: <[0-9]+\.[0-9a-f]{16}\.clawengine@example\.com>'$'\r''$' "$T/plain/1.eml" ||
  fail "Message-ID: $(grep ^Message-ID "$T/plain/1.eml")"
done_check

check "mail: a UTF-8 subject is encoded, the text is 8bit UTF-8"
claw run "$SEND" "smtp://127.0.0.1:25990/?from=claw@example.com&to=ops@example.com" \
  "Mise à jour disponible" "Ça marche ✓"
expect_out "sent"
grep -qF 'Subject: =?utf-8?B?TWlzZSDDoCBqb3VyIGRpc3BvbmlibGU=?=' "$T/plain/2.eml" || fail "$(cat "$T/plain/2.eml")"
[ "$(tail -n 1 "$T/plain/2.eml")" = $'Ça marche ✓\r' ] || fail "body: $(tail -n 1 "$T/plain/2.eml")"
"$PY" - "$T/plain/2.eml" <<'EOF' || fail "Python's email parser disagrees"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert m["Subject"] == "Mise à jour disponible", m["Subject"]
assert m.get_content() == "Ça marche ✓\n", repr(m.get_content())
EOF
done_check

check "mail: starttls=yes with a server that offers none fails, nothing is sent"
claw run "$SEND" "smtp://127.0.0.1:25990/?from=a@example.com&to=b@example.com&starttls=yes" "s" "t"
expect_rc 1
expect_out "error http 0: smtp://127.0.0.1:25990/?from=a@example.com&to=b@example.com&starttls=yes: STARTTLS not supported."
[ ! -e "$T/plain/3.eml" ] || fail "a mail was sent in clear"
done_check

check "mail: a refused recipient is 'refused' with the server's words"
claw run "$SEND" "smtp://u:hunter2@127.0.0.1:25991/?from=a@example.com&to=nobody@example.com&starttls=no" "s" "t"
expect_rc 1
expect_out "error refused 550: smtp://u:***@127.0.0.1:25991/?from=a@example.com&to=nobody@example.com&starttls=no: refused by the mail server: 550 5.1.1 <nobody@example.com>: Recipient address rejected"
done_check

check "mail: a message refused after DATA is 'refused' too"
claw run "$SEND" "smtp://127.0.0.1:25991/?from=a@example.com&to=ops@example.com" "SPAM offer" "t"
expect_rc 1
expect_out "error refused 554: smtp://127.0.0.1:25991/?from=a@example.com&to=ops@example.com: refused by the mail server: 554 5.7.1 Message rejected as spam"
[ -z "$(ls "$T/refuse" | grep eml)" ] || fail "the refusing server kept a mail"
done_check

check "mail: STARTTLS verified with the site's CA, login with a password file"
claw run "$SEND" "smtp://claw@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&starttls=yes&cacert=$T/ca.pem&password_file=$T/smtp_password" "over TLS" "t"
expect_out "sent"
[ "$(sed -n '3,4p' "$T/tls/1.env")" = $'TLS yes\nLOGIN claw' ] || fail "$(cat "$T/tls/1.env")"
# the same with the password as @/path (the shoutrrr URL form with a secret file)
claw run "$SEND" "smtp://claw:@$T/smtp_password@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem" "again" "t"
expect_out "sent"
[ -e "$T/tls/2.eml" ] || fail "no second mail"
done_check

check "mail: a certificate the system does not trust is refused (no fallback to clear text)"
claw run "$SEND" "smtp://claw:s3cret-from-file@127.0.0.1:25992/?from=a@example.com&to=ops@example.com" "s" "t"
expect_rc 1
expect_out_has "error http 0: smtp://claw:***@127.0.0.1:25992/?from=a@example.com&to=ops@example.com: SSL certificate problem"
[ ! -e "$T/tls/3.eml" ] || fail "sent anyway"
done_check

check "mail: a wrong password is 'refused' (535), and never shown"
claw run "$SEND" "smtp://claw:WrongPass99@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem" "s" "t"
expect_rc 1
expect_out_has "error refused 535: smtp://claw:***@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem: refused by the mail server: 535"
grep -q WrongPass99 "$T/out" "$T/err" && fail "the password was shown"
done_check

check "mail: smtps:// (implicit TLS)"
claw run "$SEND" "smtps://127.0.0.1:25993/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem" "implicit" "t"
expect_out "sent"
grep -qx "TLS yes" "$T/smtps/1.env" || fail "$(cat "$T/smtps/1.env")"
done_check

check "mail: a server that never answers: timeout"
claw run "$SEND" "smtp://127.0.0.1:25994/?from=a@example.com&to=ops@example.com" "s" "t" 0.5
expect_rc 1
expect_out "error timeout 0: smtp://127.0.0.1:25994/?from=a@example.com&to=ops@example.com: timed out after 0.5 s"
done_check

# interrupted NAME URL: SIGINT 0.3 s into a send to URL (that never answers) ends the
# run at once with 130.
interrupted() {
  check "SIGINT ends a send at once (exit 130): $1"
  local p
  p=$(policy int.lua "local notify = require \"claw.notify\"
print(\"sending\")
io.stdout:flush()
notify.send(\"$2\", { text = \"t\", timeout = 60 })
print(\"not reached\")")
  interrupt_run sending "$p"
  done_check
}
interrupted "mail" "smtp://127.0.0.1:25994/?from=a@example.com&to=ops@example.com"

# ---- webhooks -------------------------------------------------------------------
W=http://127.0.0.1:25995

check "webhook: generic JSON"
NOTIFY_FIELDS='{"container":"web","updated":true}' claw run "$SEND" "$W/generic?x=1" "web updated" "web: 1.0 -> 1.1"
expect_out "sent"
[ "$(hook 1)" = '{"body": {"fields": {"container": "web", "updated": true}, "message": "web: 1.0 -> 1.1", "title": "web updated"}, "headers": {"Content-Type": "application/json"}, "method": "POST", "path": "/generic?x=1"}' ] ||
  fail "$(hook 1)"
done_check

check "webhook: shoutrrr generic+http with keys, headers, extra data, basic auth"
claw run "$SEND" "generic+http://bob:pw@127.0.0.1:25995/gen?template=json&titlekey=subject&messagekey=body&@X-Claw=yes&\$env=prod&keep=1" "s" "t"
expect_out "sent"
[ "$(hook 2)" = '{"body": {"body": "t", "env": "prod", "subject": "s"}, "headers": {"Authorization": "Basic Ym9iOnB3", "Content-Type": "application/json", "X-Claw": "yes"}, "method": "POST", "path": "/gen?keep=1"}' ] ||
  fail "$(hook 2)"
done_check

check "webhook: Slack and Discord formats"
claw run "$SEND" "$W/slack/T/B/C?format=slack&channel=%23ops&username=claw" "web updated" "to 1.1"
expect_out "sent"
claw run "$SEND" "$W/api/webhooks/1/TOKEN?format=discord&username=claw" "web updated" "to 1.1"
expect_out "sent"
[ "$(hook 3)" = '{"body": {"channel": "#ops", "text": "web updated\n\nto 1.1", "username": "claw"}, "headers": {"Content-Type": "application/json"}, "method": "POST", "path": "/slack/T/B/C"}' ] ||
  fail "$(hook 3)"
[ "$(hook 4)" = '{"body": {"content": "web updated\n\nto 1.1", "username": "claw"}, "headers": {"Content-Type": "application/json"}, "method": "POST", "path": "/api/webhooks/1/TOKEN"}' ] ||
  fail "$(hook 4)"
done_check

check "webhook: ntfy (JSON to the root, token as bearer) and Gotify (key in a header)"
printf 'tk_ntfy\n' >"$T/ntfy_token"
claw run "$SEND" "ntfy://127.0.0.1:25995/claw-alerts?scheme=http&priority=high&tags=whale,up&token_file=$T/ntfy_token&cache=no" "web updated" "to 1.1"
expect_out "sent"
claw run "$SEND" "gotify://127.0.0.1:25995/AppTok3n?disabletls=yes&priority=7" "web updated" "to 1.1"
expect_out "sent"
[ "$(hook 5)" = '{"body": {"message": "to 1.1", "priority": 4, "tags": ["whale", "up"], "title": "web updated", "topic": "claw-alerts"}, "headers": {"Authorization": "Bearer tk_ntfy", "Content-Type": "application/json", "X-Cache": "no"}, "method": "POST", "path": "/"}' ] ||
  fail "$(hook 5)"
[ "$(hook 6)" = '{"body": {"message": "to 1.1", "priority": 7, "title": "web updated"}, "headers": {"Content-Type": "application/json", "X-Gotify-Key": "AppTok3n"}, "method": "POST", "path": "/message"}' ] ||
  fail "$(hook 6)"
done_check

check "webhook: a 500 is an error with its status and body, the retry succeeds"
claw run "$SEND" "$W/fail-once/api_key=1?token=Secret7" "s" "t"
expect_rc 1
expect_out 'error http 500: http://127.0.0.1:25995/fail-once/api_key=1?token=***: HTTP 500: boom: try again'
claw run "$SEND" "$W/fail-once/api_key=1?token=Secret7" "s" "t"
expect_rc 0
expect_out "sent"
claw run "$SEND" "$W/status/404" "s" "t"
expect_out "error http 404: http://127.0.0.1:25995/status/404: HTTP 404: status 404"
done_check

check "webhook: a slow receiver times out"
claw run "$SEND" "$W/slow" "s" "t" 0.3
expect_rc 1
expect_out "error timeout 0: http://127.0.0.1:25995/slow: timed out after 0.3 s"
done_check
interrupted "webhook" "http://127.0.0.1:25995/slow"

# ---- the policy side ------------------------------------------------------------
check "targets from \$CLAWENGINE_NOTIFY, the updates template, dry-run sends nothing"
p=$(policy targets.lua 'local notify = require "claw.notify"
local report = { host = "gw1", containers = { { name = "openclaw-gateway", image = "openclaw/gateway:latest",
  current = { digest = "sha256:" .. string.rep("a", 64), version = "2026.9.5" },
  new = { digest = "sha256:" .. string.rep("b", 64), version = "2026.9.6" } } } }
for _, url in ipairs(notify.targets()) do
  print(notify.parse(url).url)
  assert(notify.send(url, { template = "updates", data = report }))
end')
n_before=$(wc -l <"$T/hooks")
CLAWENGINE_NOTIFY="smtp://claw:s3cret-from-file@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem  $W/tpl" \
  "$CLAW" --dry-run run "$p" >"$T/out" 2>"$T/err"
rc=$?
expect_rc 0
grep -c "dry-run: would send \"clawengine: 1 update available on gw1: openclaw-gateway\" to " "$T/err" | grep -qx 2 ||
  fail "dry-run lines: $(cat "$T/err")"
[ "$(wc -l <"$T/hooks")" = "$n_before" ] || fail "dry-run posted"
[ ! -e "$T/tls/3.eml" ] || fail "dry-run mailed"
grep -q s3cret "$T/out" "$T/err" && fail "the password was shown"
CLAWENGINE_NOTIFY="smtp://claw:s3cret-from-file@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem  $W/tpl" \
  claw run "$p"
expect_rc 0
expect_out "smtp://claw:***@127.0.0.1:25992/?from=a@example.com&to=ops@example.com&cacert=$T/ca.pem
$W/tpl"
grep -qF 'Subject: clawengine: 1 update available on gw1: openclaw-gateway' "$T/tls/3.eml" || fail "$(cat "$T/tls/3.eml")"
grep -qF '  update:  clawengine run policies/rolling.lua openclaw-gateway' "$T/tls/3.eml" || fail "no command"
[ "$(tail -n 1 "$T/hooks" | "$PY" -c 'import json,sys; b=json.load(sys.stdin)["body"]; print(b["title"]); print(b["message"])')" = "clawengine: 1 update available on gw1: openclaw-gateway
An update is available on gw1:

openclaw-gateway (openclaw/gateway:latest)
  running: latest sha256:aaaaaaaaaaaa (version 2026.9.5)
  new:     latest sha256:bbbbbbbbbbbb (version 2026.9.6)
  update:  clawengine run policies/rolling.lua openclaw-gateway" ] || fail "$(tail -n 1 "$T/hooks")"
done_check

check "an uncaught failure names the URL with its password masked"
p=$(policy fail.lua 'local notify = require "claw.notify"
assert(notify.send("smtp://bob:TopSecret1@127.0.0.1:25991/?from=a@example.com&to=nobody@example.com", { text = "x" }))')
claw run "$p"
expect_rc 3
expect_err_has "smtp://bob:***@127.0.0.1:25991/?from=a@example.com&to=nobody@example.com: refused by the mail server: 550 5.1.1"
grep -q TopSecret1 "$T/out" "$T/err" && fail "the password was shown"
p=$(policy bad.lua 'local notify = require "claw.notify"
assert(notify.send("teams://bob:TopSecret1@example.com/x", { text = "x" }))')
claw run "$p"
expect_rc 3
expect_err_has 'unknown notification scheme "teams" in teams://bob:***@example.com/x'
grep -q TopSecret1 "$T/out" "$T/err" && fail "the password was shown"
done_check

finish
