#!/usr/bin/env bash
# cmake --install puts the binary, the Lua library and the stock policies under a
# prefix, and the installed binary uses its own library, not the source tree's, and
# its own clawengine-daemon (libexec/clawengine), not the build tree's.
set -euo pipefail
build=$1
prefix=$(mktemp -d "${CLAW_TEST_TMP:-/tmp}/prefix-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/clawengine libexec/clawengine/clawengine-daemon share/clawengine/lua/claw/args.lua share/clawengine/policies/status.lua \
         share/doc/clawengine/lua-api.md; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
printf 'print(package.path:match("^[^;]*;[^;]*"))\nprint(require("claw.engine").policy_dir)\n' >"$prefix/p.lua"
got=$(cd / && "$prefix/bin/clawengine" run "$prefix/p.lua")
want="$prefix/?.lua;$prefix/bin/../share/clawengine/lua/?.lua
$prefix/bin/../share/clawengine/policies"
[ "$got" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"; exit 1; }
(cd / && "$prefix/bin/clawengine" run status --help | head -1 | grep -q "usage: clawengine run policies/status.lua")

# `clawengine daemon` execs the installed clawengine-daemon: it checks a config, and
# with the helper moved away it says where it looked, all under the prefix, and
# exits 127 (unless the configured libexec folder has one, which it would then run).
printf 'admin: %s/admin.sock\nroutes: {}\n' "$prefix" >"$prefix/d.yml"
(cd / && "$prefix/bin/clawengine" daemon --config "$prefix/d.yml" --check)
helper=$prefix/libexec/clawengine/clawengine-daemon
mv "$helper" "$helper.away"
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")/libexec/clawengine
if [ ! -e "$configured/clawengine-daemon" ]; then
  rc=0
  err=$(cd / && "$prefix/bin/clawengine" daemon --config "$prefix/d.yml" --check 2>&1) || rc=$?
  want="clawengine: the daemon program clawengine-daemon is missing: not in $prefix/bin/clawengine-daemon, \
$prefix/bin/../libexec/clawengine/clawengine-daemon or $configured/clawengine-daemon; \
is clawengine fully installed? (docs/troubleshooting.md)"
  [ "$rc" = 127 ] && [ "$err" = "$want" ] ||
    { printf 'missing helper: exit %s, got:\n%s\nwant:\n%s\n' "$rc" "$err" "$want"; exit 1; }
fi
mv "$helper.away" "$helper"
echo "2 passed, 0 failed"
