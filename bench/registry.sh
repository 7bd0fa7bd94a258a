#!/usr/bin/env bash
# Update detection for 100 images on one local registry (Debian's docker-registry on
# 127.0.0.1): claw.registry.digests (concurrent, one multi handle) against
# claw.registry.digest one at a time, in the same run, interleaved. Prints medians
# and spreads; never fails on time.
#   REPEAT=5 N=100 bench/registry.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CLAW=${CLAWENGINE:-$root/build/clawengine}
N=${N:-100}
REPEAT=${REPEAT:-5}
PORT=${PORT:-5091}
tmp=$(mktemp -d /tmp/claw-bench-registry-XXXXXX)
reg=
cleanup() {
  [ -n "$reg" ] && kill "$reg" 2>/dev/null
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^localhost:$PORT/" | xargs -r docker rmi >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$tmp/data" "$PORT" >"$tmp/registry.yml"
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done

echo "pushing $N images to 127.0.0.1:$PORT (layers are shared: each push is small)..." >&2
for i in $(seq 1 "$N"); do
  docker tag clawtest/gateway:v1 "localhost:$PORT/bench/app$i:v1"
  docker push -q "localhost:$PORT/bench/app$i:v1" >/dev/null
done

cat >"$tmp/bench.lua" <<'LUA'
local registry = require "claw.registry"
local time = require "claw.time"
local n, port, repeats, fmt = tonumber(arg[1]), arg[2], tonumber(arg[3]), arg[4]
local refs = {}
for i = 1, n do refs[i] = string.format(fmt, port, i) end
local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end
local conc, serial = {}, {}
for r = 1, repeats do
  local t0 = time.monotonic()
  local out = registry.digests(refs)
  conc[r] = time.monotonic() - t0
  for _, x in ipairs(out) do assert(x.digest, x.error and x.error.message) end
  t0 = time.monotonic()
  for _, ref in ipairs(refs) do assert(registry.digest(ref)) end
  serial[r] = time.monotonic() - t0
end
local function row(name, t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  print(string.format("%-28s median %7.1f ms   [%.1f-%.1f]", name, median(t) * 1000, s[1] * 1000, s[#s] * 1000))
end
print(string.format("%d images, %d runs each, interleaved: %s", n, repeats, arg[5]))
row("concurrent (digests)", conc)
row("one at a time (digest)", serial)
print(string.format("ratio one-at-a-time / concurrent: %.2fx", median(serial) / median(conc)))
LUA
echo "machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$CLAW" run "$tmp/bench.lua" "$N" "$PORT" "$REPEAT" "localhost:%s/bench/app%d:v1" \
  "Debian's docker-registry on loopback (answers in about 1 ms)"

# A registry far away answers in tens of milliseconds: the fault fixture's slow/app
# answers after 20 ms, as a registry across the internet would.
FPORT=$((PORT + 1))
python3 "$root/tests/fixtures/registry_faults.py" "$FPORT" 0.02 >"$tmp/faults.log" 2>&1 &
fpid=$!
trap 'kill $fpid 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$FPORT/expected" >/dev/null && break; sleep 0.1; done
echo
"$CLAW" run "$tmp/bench.lua" "$N" "$FPORT" "$REPEAT" "localhost:%s/slow/app:t%d" \
  "a registry answering in 20 ms (tests/fixtures/registry_faults.py)"
