#!/usr/bin/env bash
# docker.clone keeps what other tools lose on recreate: static IP, MAC address,
# macvlan address, compose labels, anonymous volumes, and every other setting.
source "$(dirname "$0")/lib.sh"

teardown() {
  cleanup_containers claw-it-rich
  docker network rm claw-it-net claw-it-macvlan >/dev/null 2>&1 || true
  docker volume rm claw-it-vol >/dev/null 2>&1 || true
  ip link del claw-veth0 2>/dev/null || true
}
teardown
trap teardown EXIT
mkdir -p "$T/data"
# A veth pair is the macvlan parent: it exists on any kernel and carries no traffic out.
ip link add claw-veth0 type veth peer name claw-veth1 && ip link set claw-veth0 up
docker network create --subnet 172.30.0.0/24 claw-it-net >/dev/null
docker network create -d macvlan --subnet 172.31.0.0/24 -o parent=claw-veth0 claw-it-macvlan >/dev/null
docker volume create claw-it-vol >/dev/null
# The daemon's own client: newer CLIs refuse --mac-address against API < 1.44.
dockercli=docker
[ -x /usr/bin/docker ] && dockercli=/usr/bin/docker
$dockercli create --name claw-it-rich \
  --network claw-it-net --ip 172.30.0.10 --network-alias gw-alias --mac-address 02:42:ac:1e:00:0a \
  --label com.docker.compose.project=demo --label com.docker.compose.service=gateway --label custom=1 \
  -e FOO=bar -e APP_VERSION=custom \
  -v "$T/data:/data" -v claw-it-vol:/vol:ro -v /anon --tmpfs /run:size=1m \
  --restart unless-stopped --health-cmd "/gateway --probe /healthz" --health-interval 2s --health-retries 5 \
  --ulimit nofile=1024:2048 --cap-add NET_ADMIN --cap-drop MKNOD --add-host db.local:10.1.2.3 \
  --dns 127.0.0.53 --hostname gwhost --domainname example.com --user 1000:1000 -w /data \
  --stop-signal SIGINT --stop-timeout 20 --init --memory 128m --cpu-shares 512 --pids-limit 200 \
  --log-opt max-size=1m --security-opt no-new-privileges --device /dev/null:/dev/xnull \
  -p 127.0.0.1:28790:18789 $GW:v1 >/dev/null
$dockercli network connect --alias mac-alias --ip 172.31.0.20 claw-it-macvlan claw-it-rich

for mode in same upgrade; do
  check "clone with $mode image"
  claw run "$HERE/clone.lua" "$mode"
  expect_rc 0
  [ "$rc" = 0 ] || echo "$err" >&2
  cleanup_containers claw-it-rich-clone
  done_check
done

finish
