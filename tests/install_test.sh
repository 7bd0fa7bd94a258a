#!/usr/bin/env bash
# cmake --install puts the binary, the Lua library and the stock policies under a
# prefix, and the installed binary uses its own library, not the source tree's.
set -euo pipefail
build=$1
prefix=$(mktemp -d "${CLAW_TEST_TMP:-/tmp}/prefix-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/clawengine share/clawengine/lua/claw/args.lua share/clawengine/policies/status.lua \
         share/doc/clawengine/lua-api.md; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
printf 'print(package.path:match("^[^;]*;[^;]*"))\nprint(require("claw.engine").policy_dir)\n' >"$prefix/p.lua"
got=$(cd / && "$prefix/bin/clawengine" run "$prefix/p.lua")
want="$prefix/?.lua;$prefix/bin/../share/clawengine/lua/?.lua
$prefix/bin/../share/clawengine/policies"
[ "$got" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$got" "$want"; exit 1; }
(cd / && "$prefix/bin/clawengine" run status --help | head -1 | grep -q "usage: clawengine run policies/status.lua")
echo "1 passed, 0 failed"
