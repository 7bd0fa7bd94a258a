#!/usr/bin/env bash
# Prepares this machine for clawengine: installs the Debian packages it needs
# (skipping those present) and starts dockerd when `docker info` fails. Run as root
# (or with sudo). Safe to run again.
set -euo pipefail

packages=(cmake gcc make pkg-config libc6-dev
          liblua5.4-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev
          docker.io docker-registry python3-aiosmtpd wrk curl iproute2 openssl
          clang libclang-rt-14-dev prometheus)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # Of the prometheus package only promtool is wanted (the tests check /metrics with
  # it): its service must not start. A policy-rc.d answering 101 keeps maintainer
  # scripts from starting services during the install.
  guard=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true   # nor at the next boot
  fi
fi

if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null && [ -e /var/run/docker.pid ]; then
    rm -f /var/run/docker.pid   # left by a dockerd that was killed: it would refuse to start
  fi
  echo "setup: starting dockerd (log: /var/log/clawengine-dockerd.log)"
  # In a session of its own, as a service manager starts it: it outlives this
  # shell, and the kernel's autogroup scheduling treats it (and docker-proxy)
  # as a service, not as part of whatever this terminal runs next.
  setsid nohup dockerd >/var/log/clawengine-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    echo "setup: dockerd did not start; its log ends with:" >&2
    tail -n 20 /var/log/clawengine-dockerd.log >&2 || true
    exit 1
  fi
fi
echo "setup: Docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})') ready"
