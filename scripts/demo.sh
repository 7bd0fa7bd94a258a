#!/usr/bin/env bash
# The newcomer's first command: sets the machine up, builds clawengine and the demo
# gateway image, starts the demo gateway container, and runs the main job on it.
# (Until the rolling-update policy lands, the main job is policies/status.lua.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
tests/fixtures/gateway/build.sh build/fixtures

if ! docker inspect claw-demo-gateway >/dev/null 2>&1; then
  docker run -d --name claw-demo-gateway -p 127.0.0.1:18789:18789 \
    --label org.openclaw.demo=1 clawtest/gateway:v1 >/dev/null
fi
docker start claw-demo-gateway >/dev/null
build/clawengine run policies/status.lua --name claw-demo-gateway >/dev/null # warm up
for _ in $(seq 1 50); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' claw-demo-gateway)" = healthy ] && break
  sleep 0.2
done
echo "demo: the demo gateway answers: $(curl -s http://127.0.0.1:18789/api/health)"
echo "demo: clawengine run policies/status.lua --label org.openclaw.demo=1"
build/clawengine run policies/status.lua --label org.openclaw.demo=1
echo "demo: remove the demo container with: docker rm -f claw-demo-gateway"
