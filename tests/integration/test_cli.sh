#!/usr/bin/env bash
# The command line and the Lua runtime: exit codes, exact messages, interrupts.
source "$(dirname "$0")/lib.sh"
OWN='claw-it-cli'

check "version lists the libraries"
claw --version
expect_rc 0
[ "$(sed -n 1p <<<"$out")" = "clawengine 0.1.0" ] || fail "first line: $out"
for lib in "Lua 5.4" "libcurl " "cJSON " "libyaml "; do expect_out_has "$lib"; done
done_check

check "help"
claw --help
expect_rc 0
expect_out_has "usage: clawengine [OPTIONS] COMMAND [ARGS...]"
done_check

check "usage errors exit 2"
claw --frobnicate
expect_rc 2
expect_err "clawengine: unknown option --frobnicate
Try 'clawengine --help'."
claw
expect_rc 2
expect_err "clawengine: no command given
Try 'clawengine --help'."
claw launch
expect_rc 2
expect_err "clawengine: unknown command \"launch\"
Try 'clawengine --help'."
claw run
expect_rc 2
expect_err "clawengine: run: no policy given (e.g. clawengine run policies/status.lua)
Try 'clawengine --help'."
claw history a b
expect_rc 2
expect_err_has "clawengine: history: one NAME at most, not 2"
claw --log-level loud run x.lua
expect_rc 2
expect_err "clawengine: invalid --log-level \"loud\" (debug, info, warn, error)
Try 'clawengine --help'."
claw -H ssh://foo run policies/status.lua
expect_rc 2
expect_err "clawengine: invalid Docker host \"ssh://foo\" (expected unix:///path or tcp://host:port)
Try 'clawengine --help'."
DOCKER_HOST=foo claw route list
expect_rc 2
expect_err "clawengine: invalid Docker host \"foo\" (expected unix:///path or tcp://host:port) (from DOCKER_HOST)
Try 'clawengine --help'."
done_check

check "a policy that does not exist"
snapshot
claw run "$T/missing.lua"
expect_rc 2
expect_err "clawengine: cannot open policy $T/missing.lua: No such file or directory"
expect_unchanged
done_check

check "syntax error: file:line: message, exit 3"
p=$(policy syntax.lua 'local x = = 1')
claw run "$p"
expect_rc 3
expect_err "clawengine: $p:1: unexpected symbol near '='"
done_check

check "runtime error: file:line: message and a traceback, exit 3"
p=$(policy runtime.lua 'local function f() error("boom") end
f()')
claw run "$p"
expect_rc 3
[ "$(sed -n 1p <<<"$err")" = "clawengine: $p:1: boom" ] || fail "first line: $err"
expect_err_has "stack traceback:"
expect_err_has "$p:2: in main chunk"
done_check

check "an error table from a module gets the policy's position"
p=$(policy assert.lua 'local json = require "claw.json"
assert(json.decode("{"))')
claw run "$p"
expect_rc 3
[ "$(sed -n 1p <<<"$err")" = "clawengine: $p:2: invalid JSON at byte 0 near '{'" ] || fail "first line: $err"
done_check

check "arguments, return values and exit codes"
p=$(policy args.lua 'print(#arg, arg[0] == ..., select("#", ...), arg[1], arg[2])
if arg[1] == "fail" then return false, "it did not work" end
if arg[1] == "code" then return 7 end')
claw run "$p" a "b c"
expect_rc 0
expect_out "2	false	2	a	b c"
claw run "$p" fail
expect_rc 1
expect_err "clawengine: it did not work"
claw run "$p" code
expect_rc 7
done_check

check "a policy requires helpers from its own folder"
mkdir -p "$T/site"
printf 'return { answer = 42 }\n' >"$T/site/helper.lua"
printf 'print(require("helper").answer)\n' >"$T/site/main.lua"
claw run "$T/site/main.lua"
expect_rc 0
expect_out "42"
done_check

check "bytecode is refused"
# (the chunk is compiled by clawengine's own Lua: no interpreter needs installing)
d=$(policy dump.lua 'local f = assert(io.open(arg[1], "wb")); f:write(string.dump(load("print(1)"))); f:close()')
claw run "$d" "$T/bin.lua"
expect_rc 0
claw run "$T/bin.lua"
expect_rc 3
expect_err "clawengine: attempt to load a binary chunk (mode is 't')"
p=$(policy load.lua 'local f = io.open(arg[1], "rb"); local s = f:read("a"); f:close()
print(load(s))')
claw run "$p" "$T/bin.lua"
expect_rc 0
expect_out "nil	attempt to load a binary chunk (mode is 't')"
done_check

check "SIGINT stops an endless loop, runs to-be-closed variables, exits 130"
p=$(policy loop.lua 'local guard <close> = setmetatable({}, { __close = function() io.stderr:write("cleanup ran\n") end })
io.stdout:write("looping\n"); io.stdout:flush()
while true do end')
"$CLAW" run "$p" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 50); do grep -q looping "$T/out" && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
err=$(cat "$T/err")
expect_rc 130
expect_err "cleanup ran
clawengine: interrupted"
done_check

check "SIGTERM interrupts a sleep at once"
p=$(policy sleep.lua 'local time = require "claw.time"
io.stdout:write("sleeping\n"); io.stdout:flush()
time.sleep(60)')
"$CLAW" run "$p" >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 1 50); do grep -q sleeping "$T/out" && break; sleep 0.1; done
start=$(date +%s%N)
kill -TERM $pid
wait $pid
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
err=$(cat "$T/err")
expect_rc 130
expect_err "clawengine: interrupted"
[ "$ms" -lt 2000 ] || fail "took $ms ms to stop"
done_check

check "Docker unreachable: missing socket, exit 4"
p=$(policy ping.lua 'local docker = require "claw.docker"
assert(docker.ping())')
claw -H unix:///nonexistent/docker.sock run "$p"
expect_rc 4
expect_err "clawengine: $p:2: cannot connect to the Docker daemon at unix:///nonexistent/docker.sock: no such socket (is dockerd running?)"
DOCKER_HOST=unix:///nonexistent/docker.sock claw run "$p"
expect_rc 4
claw -H tcp://127.0.0.1:1 run "$p"
expect_rc 4
expect_err_has "cannot connect to the Docker daemon at tcp://127.0.0.1:1"
claw -H ftp://x run "$p"
expect_rc 2
expect_err_has "invalid Docker host \"ftp://x\" (expected unix:///path or tcp://host:port)"
done_check

check "Docker unreachable: rolling.lua exits 4 with Docker's words"
DOCKER_HOST=unix:///nonexistent/docker.sock claw run "$HERE/../../policies/rolling.lua" some-app
expect_rc 4
expect_err 'clawengine: cannot connect to the Docker daemon at unix:///nonexistent/docker.sock: no such socket (is dockerd running?)'
done_check

check "--dry-run is refused for the daemon, which would serve for real"
claw --dry-run daemon --config "$T/none.yml"
expect_rc 2
expect_err_has "clawengine: daemon: --dry-run is not for the daemon"
done_check

check "Docker unreachable: permission denied, exit 4"
# nobody must be able to read the policy and run the binary, wherever the build is.
pd=$(mktemp -d /tmp/claw-perm-XXXXXX)
cp "$p" "$CLAW" "$pd/" && chmod 755 "$pd" "$pd/clawengine" && chmod 644 "$pd/ping.lua"
setpriv --reuid=nobody --regid=nogroup --clear-groups env CLAWENGINE_PATH="$HERE/../../lua" \
  "$pd/clawengine" run "$pd/ping.lua" >"$T/out" 2>"$T/err"
rc=$?
err=$(cat "$T/err")
rm -rf "$pd"
expect_rc 4
expect_err "clawengine: $pd/ping.lua:2: cannot connect to the Docker daemon at unix:///var/run/docker.sock: permission denied (run as root or as a member of the docker group)"
done_check

check "the Docker API version is negotiated"
p=$(policy version.lua 'local docker = require "claw.docker"
local v = assert(docker.version())
print(v.ApiVersion == v.NegotiatedApiVersion or v.NegotiatedApiVersion == "1.51")')
claw run "$p"
expect_rc 0
expect_out "true"
done_check

finish
