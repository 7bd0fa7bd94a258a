#!/usr/bin/env bash
# Sets the machine up and runs the whole test suite: unit, Lua and Docker
# integration tests on a warnings-as-errors build, then the unit and Lua tests and
# the daemon's load tests again under AddressSanitizer + UndefinedBehaviorSanitizer
# (with LeakSanitizer). Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh

jobs=$(nproc)
cmake -S . -B build -DCLAW_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
# Docker tests must run: a suite without them proves nothing about the product.
n=$(cd build && ctest -N -L docker | sed -n 's/^Total Tests: //p')
if [ "${n:-0}" -lt 2 ]; then echo "test: no Docker tests found" >&2; exit 1; fi
(cd build && ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCLAW_WERROR=ON -DCLAW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -L 'unit|lua')
# The daemon is long-lived: its load tests run again under ASan with LeakSanitizer.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -R 'docker/(fixture-images|test_daemon)')
echo "test: all suites passed"
