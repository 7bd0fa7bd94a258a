#!/usr/bin/env bash
# claw.registry on real registries: Debian's docker-registry on 127.0.0.1 (plain HTTP
# on 5073; the same storage behind TLS with a CA made here and htpasswd Basic auth on
# 5074), and tests/fixtures/registry_faults.py for what a real one will not do (5075,
# and 5076 for the token flow). registry.lua holds most checks; this file the setup,
# the runs that need their own environment (DOCKER_CONFIG, PATH) and SIGINT.
source "$(dirname "$0")/lib.sh"

PLAIN=5073 TLS=5074 FAULTS=5075 AUTHF=5076
REG=localhost:$PLAIN
SREG=localhost:$TLS
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for r in $REG/x:v1 $REG/x:multi $SREG/x:t1; do
    docker image inspect "$r" >/dev/null 2>&1 || continue
    for d in $(docker image inspect "$r" --format '{{range .RepoDigests}}{{.}} {{end}}'); do
      case $d in localhost:507*) docker rmi "$d" >/dev/null 2>&1 ;; esac
    done
    docker rmi "$r" >/dev/null 2>&1
  done
}
trap cleanup EXIT

# ---- a CA, a server certificate for localhost and 127.0.0.1, a password file ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" -days 2 \
  -subj "/CN=clawtest registry CA" >/dev/null 2>&1 || { echo "openssl failed"; exit 1; }
openssl req -newkey rsa:2048 -nodes -keyout "$T/server.key" -out "$T/server.csr" \
  -subj "/CN=localhost" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/san.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
  -out "$T/server.crt" -days 2 -extfile "$T/san.ext" >/dev/null 2>&1
if command -v htpasswd >/dev/null; then
  htpasswd -nbB alice wonderland >"$T/htpasswd"
else # bcrypt through libcrypt; docker-registry reads only bcrypt
  python3 -W ignore -c 'import crypt, sys
print("alice:" + crypt.crypt("wonderland", crypt.mksalt(crypt.METHOD_BLOWFISH)))' >"$T/htpasswd"
fi
grep -q '^alice:\$2' "$T/htpasswd" || { echo "cannot make a bcrypt htpasswd"; exit 1; }

registry() { # registry PORT EXTRA-YAML
  cat >"$T/registry-$1.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
$2
YML
  docker-registry serve "$T/registry-$1.yml" >"$T/registry-$1.log" 2>&1 &
  pids+=($!)
}
registry $PLAIN ""
registry $TLS "  tls:
    certificate: $T/server.crt
    key: $T/server.key
auth:
  htpasswd:
    realm: clawtest
    path: $T/htpasswd"
python3 "$HERE/../fixtures/registry_faults.py" $FAULTS 0.02 >"$T/faults.log" 2>&1 &
pids+=($!)
python3 "$HERE/../fixtures/registry_faults.py" $AUTHF >"$T/authf.log" 2>&1 &
pids+=($!)
up() { curl -s -o /dev/null --cacert "$T/ca.crt" "$1"; }
for _ in $(seq 1 100); do
  up http://127.0.0.1:$PLAIN/v2/ && up https://localhost:$TLS/v2/ && up http://127.0.0.1:$FAULTS/stats &&
    up http://127.0.0.1:$AUTHF/stats && break
  sleep 0.1
done
for port in $PLAIN $FAULTS $AUTHF; do
  up http://127.0.0.1:$port/v2/ || { echo "nothing answers on $port:"; cat "$T"/*.log; exit 1; }
done

# ---- content: x:v1 pushed by Docker; 100 more tags and an index by the API ----
docker tag $GW:v1 $REG/x:v1
docker push -q $REG/x:v1 >/dev/null || { echo "docker push failed"; exit 1; }
MT=application/vnd.docker.distribution.manifest.v2+json
curl -s -H "Accept: $MT" http://127.0.0.1:$PLAIN/v2/x/manifests/v1 >"$T/v1.json"
v1=sha256:$(sha256sum <"$T/v1.json" | cut -d' ' -f1)
put() { # put REPO TAG TYPE FILE
  curl -sf -X PUT -H "Content-Type: $3" --data-binary @"$4" \
    "http://127.0.0.1:$PLAIN/v2/$1/manifests/$2" >/dev/null || echo "PUT $1:$2 failed" >&2
}
for i in $(seq 1 100); do put x t$i $MT "$T/v1.json"; done
# another repository: its blobs are mounted from x first
for d in $(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' "$T/v1.json"); do
  curl -sf -X POST "http://127.0.0.1:$PLAIN/v2/pages/blobs/uploads/?mount=$d&from=x" >/dev/null ||
    echo "mount $d failed" >&2
done
for tag in 1.0.0 1.9.0 1.10.0 2.0.0-rc.1 latest; do put pages $tag $MT "$T/v1.json"; done
arch=$(docker image inspect $GW:v1 --format '{{.Architecture}}')
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}]}' \
  $MT "$v1" "$(stat -c %s "$T/v1.json")" "$arch" >"$T/index.json"
put x multi application/vnd.oci.image.index.v1+json "$T/index.json"

mkdir -p "$T/nocfg"
check "registry.lua"
DOCKER_CONFIG=$T/nocfg REG=$REG FAULTS=127.0.0.1:$FAULTS AUTHF=127.0.0.1:$AUTHF V1=$v1 \
  claw run "$HERE/registry.lua"
expect_rc 0
[ "$rc" = 0 ] || echo "$err" >&2
grep '^figures:' <<<"$out"
tail -n 1 <<<"$out"
done_check

# ---- TLS with a CA of our own, Basic auth, credentials from DOCKER_CONFIG ----
p=$(policy tls.lua 'local registry = require "claw.registry"
local o = { ca = os.getenv("CA"), insecure = os.getenv("INSECURE") }
local r, err = registry.digest(arg[1], o)
if not r then print(err.code, err.message) return false end
local tags = assert(registry.tags(arg[1]:match("^[^:]+:[^:]+"), o))
tags = table.concat(tags, " ")
print(r.digest == arg[2], r.registry, r.repository, r.tag, tags:find("t100") ~= nil)')
config() { # config DIR JSON
  mkdir -p "$T/$1"
  printf '%s\n' "$2" >"$T/$1/config.json"
}
config cfg-auths "{\"auths\":{\"$SREG\":{\"auth\":\"$(printf alice:wonderland | base64)\"}}}"
config cfg-wrong "{\"auths\":{\"$SREG\":{\"auth\":\"$(printf alice:queen | base64)\"}}}"
config cfg-helper "{\"credHelpers\":{\"$SREG\":\"clawtest\"}}"
config cfg-store "{\"credsStore\":\"clawtest\"}"
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-clawtest" <<'SH'
#!/bin/sh
# a credential helper: `get` with the server on stdin
[ "$1" = get ] || exit 1
read -r server || true
case $server in
  localhost:5074) echo '{"ServerURL":"localhost:5074","Username":"alice","Secret":"wonderland"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
SH
chmod +x "$T/bin/docker-credential-clawtest"

check "TLS: a CA not trusted is an error, never skipped"
DOCKER_CONFIG=$T/cfg-auths claw run "$p" $SREG/x:t1 "$v1"
expect_rc 1
expect_out_has "http	$SREG/x:t1: request to $SREG failed: SSL certificate problem"
done_check

check "TLS with the CA, no credentials: unauthorized"
CA=$T/ca.crt DOCKER_CONFIG=$T/nocfg claw run "$p" $SREG/x:t1 "$v1"
expect_rc 1
expect_out "unauthorized	$SREG/x:t1: unauthorized (401), no credentials for $SREG"
done_check

check "TLS with the CA, a wrong password: unauthorized as the user"
CA=$T/ca.crt DOCKER_CONFIG=$T/cfg-wrong claw run "$p" $SREG/x:t1 "$v1"
expect_rc 1
expect_out "unauthorized	$SREG/x:t1: unauthorized (401) as alice"
done_check

for cfg in cfg-auths cfg-helper cfg-store; do
  check "TLS + Basic auth, credentials from $cfg"
  CA=$T/ca.crt DOCKER_CONFIG=$T/$cfg PATH=$T/bin:$PATH claw run "$p" $SREG/x:t1 "$v1"
  expect_rc 0
  expect_out "true	$SREG	x	t1	true"
  done_check
done

check "a registry named insecure is spoken to over plain HTTP"
CA=$T/ca.crt INSECURE=$SREG DOCKER_CONFIG=$T/cfg-auths claw run "$p" $SREG/x:t1 "$v1"
expect_rc 1
expect_out "http	$SREG/x:t1: unexpected answer from $SREG (400)"
done_check

check "a credential helper that is missing fails, naming it"
CA=$T/ca.crt DOCKER_CONFIG=$T/cfg-store claw run "$p" $SREG/x:t1 "$v1"
expect_rc 1
expect_out "io	$SREG/x:t1: credential helper docker-credential-clawtest: cannot run it: No such file or directory"
done_check

check "docker.pull sends the credential helper's credentials too"
pull=$(policy pull.lua 'local docker = require "claw.docker"
local r, err = docker.pull(arg[1])
if not r then print(err.code, err.message) return false end
print(r.digest == arg[2])')
DOCKER_CONFIG=$T/cfg-helper PATH=$T/bin:$PATH claw run "$pull" $SREG/x:t1 "$v1"
expect_rc 0
expect_out "true"
done_check

# ---- SIGINT during a request that gets no answer ----
check "SIGINT during registry.digest: exit 130 at once"
p=$(policy int.lua 'local registry = require "claw.registry"
print("waiting")
io.stdout:flush()
registry.digests({ arg[1], arg[1] }, { timeout = 60 })
print("not reached")')
interrupt_run waiting "$p" 127.0.0.1:$FAULTS/stall/app:int
done_check

finish
