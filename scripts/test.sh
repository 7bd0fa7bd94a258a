#!/usr/bin/env bash
# Sets the machine up and runs the whole test suite: unit, Lua and Docker
# integration tests on a warnings-as-errors build, then the unit and Lua tests and
# the daemon's load tests again under AddressSanitizer + UndefinedBehaviorSanitizer
# (with LeakSanitizer). Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
untracked() { git status --porcelain --untracked-files=all 2>/dev/null | sed -n 's/^?? //p' | sort; }
untracked >"${TMPDIR:-/tmp}/claw-untracked-before"

jobs=$(nproc)
cmake -S . -B build -DCLAW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
# Docker tests must run: a suite without them proves nothing about the product.
n=$(cd build && ctest -N -L docker | sed -n 's/^Total Tests: //p')
if [ "${n:-0}" -lt 2 ]; then echo "test: no Docker tests found" >&2; exit 1; fi
# The Docker suites run two at a time (tests/integration/lib.sh keeps them apart):
# on 2 cores that takes them from about 725 s to 510 s (docs/development.md).
# CLAW_DOCKER_JOBS=1 runs them one at a time.
docker_jobs=${CLAW_DOCKER_JOBS:-2}
(cd build && ctest --output-on-failure -j"$jobs" -LE docker &&
  ctest --output-on-failure -j"$docker_jobs" -L docker)

cmake -S . -B build-asan -DCLAW_WERROR=ON -DCLAW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -L 'unit|lua')
# The daemon is long-lived: its load tests run again under ASan with LeakSanitizer.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$docker_jobs" \
  -R 'docker/(fixture-images|test_daemon|test_http_api)')
# The parsers of what the daemon reads from others (the admin protocol, the API's HTTP
# requests) under libFuzzer (clang only), each for a bounded time on a copy of its seed
# corpus. A crash, leak or broken invariant fails the suite.
if command -v clang >/dev/null; then
  CC=clang cmake -S . -B build-fuzz -DCLAW_FUZZ=ON -DCLAW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_admin fuzz_httpmsg
  # (both at once: each fuzzer runs on one core)
  fuzz_one() { # TARGET
    local target=$1 fuzz rc=0
    fuzz=$(mktemp -d)
    cp tests/fuzz/corpus/$target/* "$fuzz/"
    build-fuzz/fuzz_$target -max_total_time=20 -dict=tests/fuzz/$target.dict \
      -artifact_prefix="$root/build-fuzz/" "$fuzz" tests/fuzz/corpus/$target >"$fuzz.log" 2>&1 || rc=$?
    echo "fuzz_$target: $(grep '^#[0-9]' "$fuzz.log" | tail -n 1)"   # its last status line
    if [ "$rc" -ne 0 ]; then
      tail -n 40 "$fuzz.log" >&2
      echo "test: fuzz_$target failed (exit $rc); the input is in build-fuzz/ (crash-*, leak-*)" >&2
    fi
    rm -rf "$fuzz" "$fuzz.log"
    return "$rc"
  }
  fuzz_one admin & admin=$!
  fuzz_one httpmsg & httpmsg=$!
  fuzz_rc=0
  wait "$admin" || fuzz_rc=1
  wait "$httpmsg" || fuzz_rc=1
  [ "$fuzz_rc" = 0 ] || exit 1
fi
# Tests write only under build*/ (CLAW_TEST_TMP): a file they leave in the source
# tree is a bug, and would end up committed.
stray=$(untracked | comm -13 "${TMPDIR:-/tmp}/claw-untracked-before" -)
if [ -n "$stray" ]; then
  echo "test: the tests left files in the source tree:" >&2
  printf '%s\n' "$stray" >&2
  exit 1
fi
echo "test: all suites passed"
