#!/usr/bin/env bash
# bench/proxy.sh — TCP forwarding through several proxies to ONE backend
# container, side by side in one run. Prints figures; never passes or fails
# on time (see bench/README.md for the columns and the figures measured).
#
# Targets, all in front of the same container (clawtest/gateway:v1):
#   direct        the container's bridge IP, no proxy (the ceiling)
#   docker-proxy  Docker's published port, the path users have today
#   nginx         stream module, worker_processes 1
#   haproxy       mode tcp, nbthread 1
#   clawengine    `clawengine daemon`, when this build has it
#   baseline      with BASELINE set: the daemon of another build (say, of the
#                 commit before a change), in the same rounds
#
# Environment: DURATION (s per wrk run, 5), REPEAT (runs per target and mode,
# 3), CLAWENGINE (binary, build/clawengine), BASELINE (another clawengine
# binary, measured beside it; none by default), ONLY (names of the targets to
# measure, all by default), HOLD_CONNS (1000), IMAGE,
# QUIET_IDLE / QUIET_WAIT (wait up to 20 s for 80 % idle CPU before a run).
#
# Needs root (apt-get, docker). Load goes only to 127.0.0.1 and to the
# backend container's address on a local Docker bridge.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-5}
REPEAT=${REPEAT:-3}
CLAWENGINE=${CLAWENGINE:-$ROOT/build/clawengine}
HOLD_CONNS=${HOLD_CONNS:-1000}
QUIET_IDLE=${QUIET_IDLE:-80}   # % of CPU idle wanted before each run
QUIET_WAIT=${QUIET_WAIT:-20}   # seconds to wait for it at most
IMAGE=${IMAGE:-clawtest/gateway:v1}
WRK_THREADS=2
WRK_CONNS=32
IDLE_SECONDS=5          # window for the idle CPU reading
BACKEND=claw-bench-backend
BACKEND_PORT=18789
PORT_DOCKER=28801       # docker's published port (docker-proxy)
PORT_NGINX=28803
PORT_HAPROXY=28804
PORT_CLAW=28805
PORT_BASELINE=28806
BASELINE=${BASELINE:-}
REFERENCES=(docker-proxy nginx haproxy)

BACKEND_ID=""           # the container measured; checked before every run
BACKEND_IP=""
IDLE_BEFORE=NA          # machine idle % in the second before the current run
ROUND=0                 # the round going on (results.tsv's last column)
WORK=""                 # temp dir: configs, logs, wrk output, results
STARTED_PIDS=()         # processes this script started, stopped on exit
CLK_TCK=$(getconf CLK_TCK)

# Filled in as the run goes.
TARGETS=()              # names of the targets that are up
declare -A URL=()       # target -> URL wrk hits
declare -A PID=()       # target -> PID of the proxy process measured
declare -A EXE=()       # target -> the binary that process runs (/proc/PID/exe)
declare -A RSS_FRESH=() # target -> "VmRSS RssAnon" kB right after start
declare -A GONE_WHY=()  # target -> how its process ended, when it did

log() { printf '%s\n' "$*" >&2; }
die() { log "proxy.sh: $*"; exit 1; }

# Starts a proxy as a service manager would: in a session of its own. With
# kernel.sched_autogroup_enabled=1 (Debian's default) the kernel shares CPU
# between sessions first, then between the processes of a session: a proxy
# left in this script's session would share one share with wrk, while
# docker-proxy runs in dockerd's. Called as a background job, whose subshell
# exec's setsid(1); that subshell is not a process-group leader (no job
# control here), so setsid does not fork either: $! stays the proxy's PID.
as_service() { exec setsid "$@"; }
# Where the scheduler puts a process: its autogroup (which counts only while
# the process is in the root cpu cgroup) and its cpu cgroup.
sched_group() {
  local ag cg
  ag=$(awk '{sub("^/", "", $1); print $1}' "/proc/$1/autogroup" 2>/dev/null)
  cg=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ || $2 == "" {print $3; exit}' "/proc/$1/cgroup" 2>/dev/null)
  echo "${ag:-no autogroup}, cpu cgroup ${cg:-?}"
}

# ---- cleanup ---------------------------------------------------------------

# Stops only what this script started (by PID), removes the container and the
# temp dir. Runs on every exit, including Ctrl-C and SIGTERM.
cleanup() {
  local pid i
  trap - EXIT INT TERM
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Give them a moment to exit (the daemon drains), then insist.
  for i in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${STARTED_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [[ $alive == 0 ]] && break
    sleep 0.3
    [[ $i == 10 ]] && for pid in "${STARTED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  done
  docker rm -f "$BACKEND" >/dev/null 2>&1 || true
  [[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- setup -----------------------------------------------------------------

# Installs the load generator and the reference proxies when missing. The
# Debian packages start and enable their system services; this benchmark runs
# its own instances with its own configs, so those are stopped and disabled.
install_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v nginx >/dev/null || missing+=(nginx-light)
  [[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || missing+=(libnginx-mod-stream)
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    # A policy-rc.d that answers 101 keeps apt from starting the services at
    # all; only add one when the machine has none, and remove it after.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          "${missing[@]}" >"$WORK/apt.log" 2>&1; } ||
      log "apt-get install failed (see below); going on with what is there"$'\n'"$(tail -5 "$WORK/apt.log")"
    ((added_policy)) && rm -f "$policy"
  fi
  command -v wrk >/dev/null || die "wrk is required"
  command -v curl >/dev/null || die "curl is required"
  stop_system_service nginx
  stop_system_service haproxy
}

# Stops a distribution service and keeps it from starting at boot.
stop_system_service() {
  local svc=$1
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/$svc ]]; then
    if compgen -G "/etc/rc[2-5].d/S*$svc" >/dev/null; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    if service "$svc" status >/dev/null 2>&1; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  fi
}

port_free() { [[ -z $(ss -ltnH "sport = :$1") ]]; }

# Starts the backend with a published port, so docker-proxy is in the path
# for 127.0.0.1:PORT_DOCKER exactly as for users.
start_backend() {
  docker info >/dev/null 2>&1 || die "cannot reach dockerd (docker info failed)"
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "building $IMAGE (tests/fixtures/gateway/build.sh)"
    "$ROOT/tests/fixtures/gateway/build.sh" "$WORK" >"$WORK/build.log" 2>&1 ||
      die "could not build $IMAGE: $(tail -3 "$WORK/build.log")"
  fi
  docker run -d --name "$BACKEND" -p "127.0.0.1:$PORT_DOCKER:$BACKEND_PORT" "$IMAGE" >/dev/null
  BACKEND_ID=$(docker inspect -f '{{.Id}}' "$BACKEND")
  BACKEND_IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$BACKEND")
  [[ $BACKEND_IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no IPv4 address for $BACKEND"
  # The direct target sends load to this address: make sure it is the local
  # Docker bridge and not a route off the machine.
  local dev
  dev=$(ip -o route get "$BACKEND_IP" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  [[ $dev == docker0 || $dev == br-* ]] || die "$BACKEND_IP routes via '$dev', not a local Docker bridge"
  wait_http "http://$BACKEND_IP:$BACKEND_PORT/" || die "backend does not answer"
}

# Other work on this machine creates and removes containers all the time. If
# the backend went away, its address may already belong to someone else's
# container, and every figure after that would be about that one: stop.
check_backend() {
  local now
  now=$(docker inspect -f '{{.Id}} {{.State.Running}}' "$BACKEND" 2>/dev/null || true)
  [[ $now == "$BACKEND_ID true" ]] ||
    die "the backend container $BACKEND was stopped or removed from outside this script; figures stop here"
}

# Waits up to ~10 s for URL to answer 200.
wait_http() {
  local i
  for i in $(seq 1 50); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# Docker 20.10 runs one docker-proxy per published address and port.
find_docker_proxy() {
  ps -eo pid=,args= | awk -v p="$PORT_DOCKER" \
    '$2 ~ /docker-proxy$/ && $0 ~ ("-host-port " p " ") {print $1; exit}'
}

add_target() { # NAME URL PID
  [[ -z ${ONLY:-} || " $ONLY " == *" $1 "* ]] || return 0
  TARGETS+=("$1"); URL[$1]=$2; PID[$1]=${3:-}
  # `clawengine daemon` execs clawengine-daemon in the same process: the PID is
  # the daemon's, and this says which binary it runs by the time it answers.
  [[ -n ${3:-} ]] && EXE[$1]=$(readlink "/proc/$3/exe" 2>/dev/null || echo '?')
  [[ -n ${3:-} ]] && RSS_FRESH[$1]=$(rss_kb "$3")
  return 0
}

start_nginx() {
  if ! command -v nginx >/dev/null || [[ ! -e /usr/lib/nginx/modules/ngx_stream_module.so ]]; then
    log "nginx with the stream module: not installed, skipped"; return 0
  fi
  port_free "$PORT_NGINX" || die "port $PORT_NGINX is in use"
  mkdir -p "$WORK/nginx"
  # One worker, as the issue's reference figures. worker_connections covers
  # the held connections twice (client leg + backend leg).
  cat >"$WORK/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
worker_rlimit_nofile 8192;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
stream {
    server {
        listen 127.0.0.1:$PORT_NGINX;
        proxy_pass $BACKEND_IP:$BACKEND_PORT;
    }
}
EOF
  # -e: nginx opens its compiled-in error log before reading the config.
  as_service nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    >"$WORK/nginx/stdout.log" 2>&1 &
  local master=$! worker="" i
  STARTED_PIDS+=("$master")
  wait_http "http://127.0.0.1:$PORT_NGINX/" || { log "nginx did not come up: $(tail -3 "$WORK/nginx/error.log")"; return 0; }
  for i in 1 2 3 4 5; do
    worker=$(pgrep -P "$master" | head -1) && [[ -n $worker ]] && break
    sleep 0.2
  done
  NGINX_MASTER=$master
  add_target nginx "http://127.0.0.1:$PORT_NGINX/" "$worker"
}

start_haproxy() {
  if ! command -v haproxy >/dev/null; then
    log "haproxy: not installed, skipped"; return 0
  fi
  port_free "$PORT_HAPROXY" || die "port $PORT_HAPROXY is in use"
  mkdir -p "$WORK/haproxy"
  # Timeouts long enough that the held idle connections stay open while
  # memory is read.
  cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend bench
    bind 127.0.0.1:$PORT_HAPROXY
    default_backend gateway
backend gateway
    server backend $BACKEND_IP:$BACKEND_PORT
EOF
  # -db: stay in the foreground, one process, so $! is the process measured.
  as_service haproxy -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy/haproxy.log" 2>&1 &
  local pid=$!
  STARTED_PIDS+=("$pid")
  wait_http "http://127.0.0.1:$PORT_HAPROXY/" || { log "haproxy did not come up: $(tail -3 "$WORK/haproxy/haproxy.log")"; return 0; }
  add_target haproxy "http://127.0.0.1:$PORT_HAPROXY/" "$pid"
}

# The daemon is optional: this benchmark exists before it does. Its files go
# to $WORK/NAME.
start_clawengine() { # NAME BINARY PORT
  local name=$1 exe=$2 port=$3 dir="$WORK/$1"
  if [[ ! -x $exe ]] || ! "$exe" daemon --help >/dev/null 2>&1; then
    log "$name: $exe has no daemon"; return 0
  fi
  port_free "$port" || die "port $port is in use"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<EOF
admin: $dir/admin.sock
state: $dir/routes.json
log: $dir/daemon.log
drain_timeout: 1
routes:
  bench:
    listen: [ "127.0.0.1:$port" ]
    container: $BACKEND
    port: $BACKEND_PORT
EOF
  as_service "$exe" daemon --config "$dir/config.yaml" >"$dir/stdout.log" 2>&1 &
  local pid=$!
  STARTED_PIDS+=("$pid")
  if ! wait_http "http://127.0.0.1:$port/"; then
    log "$name: the daemon did not answer on 127.0.0.1:$port; its output:"
    tail -5 "$dir/stdout.log" "$dir/daemon.log" >&2 2>/dev/null || true
    return 0
  fi
  add_target "$name" "http://127.0.0.1:$port/" "$pid"
}

# Why a target's process is gone, into GONE_WHY[target], once. Only our own
# children can be waited for (docker-proxy belongs to dockerd), and only from
# this shell, not from a $(...) subshell. A status over 128 is a signal: 143
# is SIGTERM from someone else, 139 a crash. For the daemon, its last words.
note_end() {
  local t=$1 pid=${PID[$1]} status=0 words
  [[ -n ${GONE_WHY[$t]:-} ]] && return 0
  if [[ $t == docker-proxy ]]; then
    GONE_WHY[$t]="docker-proxy belongs to dockerd, status unknown"; return 0
  fi
  wait "$pid" 2>/dev/null || status=$?
  if ((status > 128)); then
    words="killed by signal $((status - 128)) ($(kill -l $((status - 128)) 2>/dev/null || echo '?'))"
  else
    words="exited with status $status"
  fi
  if [[ $t == clawengine || $t == baseline ]]; then
    words+="; its log ends: $(tail -n 3 "$WORK/$t/daemon.log" "$WORK/$t/stdout.log" 2>/dev/null | grep -v '^==>' | grep . | tail -3 | paste -sd'|' - || true)"
  fi
  GONE_WHY[$t]=$words
}

# ---- measuring -------------------------------------------------------------

# Both readers print nothing (and succeed) when the process is gone, so a
# proxy that dies mid-run costs its own figures, not the whole run.
# "VmRSS RssAnon" in kB. VmRSS is the figure the targets are set in; it
# counts every mapped page of the shared libraries too, so the anonymous
# part (the process's own heap and stacks) is shown beside it.
rss_kb() {
  awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} END {if (r != "") print r, a}' "/proc/$1/status" 2>/dev/null || true
}

# utime+stime in clock ticks, all threads. The command name (field 2) may
# hold spaces, so cut up to its closing parenthesis first.
cpu_ticks() { { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || true; } | awk 'NF {print $12 + $13}'; }

# Seconds of CPU between two tick readings, or NA when either is missing.
cpu_delta_s() { awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" 'BEGIN {if (a == "" || b == "") print "NA"; else printf "%.2f", (b - a) / hz}'; }

# p99 from wrk --latency ("99%  6.51ms"), in milliseconds.
wrk_p99_ms() {
  awk '$1 == "99%" {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f > 0) printf "%.3f", v * f; else print "NA"; found = 1 }
    END { if (!found) print "NA" }' "$1"
}

# Socket errors plus non-2xx/3xx answers, so a fast-but-failing run shows.
wrk_errors() {
  awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
       /Non-2xx or 3xx/ { n += $NF }
       END { print n + 0 }' "$1"
}

# One wrk run; appends "target mode rps p99_ms errors cpu_us_per_req
# machine_idle_pct_before" to
# results.tsv. The proxy's CPU time over the run says how much of the
# machine each forwarded request costs.
run_wrk() { # TARGET MODE
  local t=$1 mode=$2 out="$WORK/wrk-$1-$2-$RANDOM.txt" before="" after="" args=()
  [[ $mode == close ]] && args=(-H "Connection: close")
  check_backend
  if [[ -n ${PID[$t]} ]] && ! kill -0 "${PID[$t]}" 2>/dev/null; then
    printf '%s\t%s\tNA\tNA\t0\tNA\t%s\t%s\n' "$t" "$mode" "$IDLE_BEFORE" "$ROUND" >>"$WORK/results.tsv"
    note_end "$t"
    printf '  %-12s %-10s process %s is gone: %s\n' "$t" "$mode" "${PID[$t]}" "${GONE_WHY[$t]}"
    return 0
  fi
  [[ -n ${PID[$t]} ]] && before=$(cpu_ticks "${PID[$t]}")
  wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --latency "${args[@]}" "${URL[$t]}" >"$out" 2>&1 || true
  [[ -n ${PID[$t]} ]] && after=$(cpu_ticks "${PID[$t]}")
  local rps requests p99 errs cpu_us=NA
  rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' "$out"); rps=${rps:-NA}
  requests=$(awk '/ requests in / {print $1}' "$out")
  p99=$(wrk_p99_ms "$out")
  errs=$(wrk_errors "$out")
  if [[ -n $before && -n $after && ${requests:-0} =~ ^[0-9]+$ && ${requests:-0} -gt 0 ]]; then
    cpu_us=$(awk -v d=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$mode" "$rps" "$p99" "$errs" "$cpu_us" "$IDLE_BEFORE" "$ROUND" \
    >>"$WORK/results.tsv"
  printf '  %-12s %-10s %8s req/s  p99 %8s ms  errors %s  proxy CPU %5s us/req  machine idle before %s%%\n' \
    "$t" "$mode" "$rps" "$p99" "$errs" "$cpu_us" "$IDLE_BEFORE"
  return 0
}

# Every target once per mode and round, in an order shuffled each round, so
# the machine's noise (other work, TIME_WAIT build-up after the close runs, what
# the run before left behind) spreads over all targets instead of landing on
# one. (A rotation keeps each target behind the same one in every round.)
run_throughput() {
  local round mode t
  : >"$WORK/results.tsv"
  echo
  echo "== throughput: wrk -t$WRK_THREADS -c$WRK_CONNS -d${DURATION}s, $REPEAT rounds, interleaved"
  for ((round = 0; round < REPEAT; round++)); do
    ROUND=$((round + 1))
    echo "round $ROUND/$REPEAT"
    for mode in keepalive close; do
      for t in $(printf '%s\n' "${TARGETS[@]}" | shuf); do
        wait_quiet
        run_wrk "$t" "$mode"
      done
    done
  done
  echo "machine: $(machine_load)"
}

# "median min max" of column COL for TARGET and MODE, skipping NA.
stat3() { # TARGET MODE COL
  awk -F'\t' -v t="$1" -v m="$2" -v c="$3" '$1 == t && $2 == m && $c != "NA" {print $c}' \
    "$WORK/results.tsv" | sort -g |
    awk '{v[NR] = $1} END {
      if (NR == 0) { print "NA NA NA"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      print med, v[1], v[NR] }'
}

sum_col() { # TARGET MODE COL
  awk -F'\t' -v t="$1" -v m="$2" -v c="$3" '$1 == t && $2 == m {n += $c} END {print n + 0}' "$WORK/results.tsv"
}

# "median [min-max]" with DECIMALS decimals, or NA.
spread() { # MEDIAN MIN MAX DECIMALS
  if [[ $1 == NA ]]; then echo NA; else
    awk -v m="$1" -v a="$2" -v b="$3" -v d="$4" 'BEGIN {f = "%." d "f"; printf f " [" f "-" f "]", m, a, b}'
  fi
}

print_throughput_table() {
  local t mode med lo hi p99 plo phi cpu
  echo
  echo "== throughput (median of $REPEAT runs [min-max]; p99 in ms: median of the runs' p99 [min-max])"
  printf '%-12s | %-22s %-20s %6s %3s | %-22s %-20s %6s %3s\n' target \
    "keep-alive req/s" p99 "us/req" err "close req/s" p99 "us/req" err
  for t in "${TARGETS[@]}"; do
    printf '%-12s' "$t"
    for mode in keepalive close; do
      read -r med lo hi < <(stat3 "$t" "$mode" 3)
      read -r p99 plo phi < <(stat3 "$t" "$mode" 4)
      read -r cpu _ _ < <(stat3 "$t" "$mode" 6)
      printf ' | %-22s %-20s %6s %3s' "$(spread "$med" "$lo" "$hi" 0)" "$(spread "$p99" "$plo" "$phi" 1)" \
        "$cpu" "$(sum_col "$t" "$mode" 5)"
    done
    echo
  done
  echo "us/req: the proxy process's CPU time per request during the run (median); err: wrk errors, all runs"
  awk -F'\t' -v q="$QUIET_IDLE" '$7 != "NA" && $7 < q {n++} END {
    printf "runs that started on a busy machine (under %d%% idle): %d of %d\n", q, n, NR}' "$WORK/results.tsv"
  print_ratios
}

ratio_line() { # OTHER MODE RPS OTHER_RPS P99 OTHER_P99
  awk -v o="$1" -v m="$2" -v r="$3" -v br="$4" -v p="$5" -v bp="$6" 'BEGIN {
    rr = (br != "NA" && br > 0 && r != "NA") ? sprintf("%.2fx", r / br) : "NA"
    pr = (bp != "NA" && bp > 0 && p != "NA") ? sprintf("%.2fx", p / bp) : "NA"
    rs = (r == "NA") ? "NA" : sprintf("%.0f", r)
    printf "clawengine / %s, %-9s: req/s %s (%s vs %.0f), p99 %s (%s ms vs %s ms)\n", o, m, rr, rs, br, pr, p, bp }'
}

# clawengine against the best reference (highest req/s, lowest p99) per mode,
# and against the baseline build when there is one.
print_ratios() {
  [[ -n ${URL[clawengine]:-} ]] || return 0
  local mode ref best_rps best_p99 rps p99 med
  echo
  for mode in keepalive close; do
    best_rps=0 best_p99=""
    for ref in "${REFERENCES[@]}"; do
      [[ -n ${URL[$ref]:-} ]] || continue
      read -r med _ _ < <(stat3 "$ref" "$mode" 3)
      read -r p99 _ _ < <(stat3 "$ref" "$mode" 4)
      [[ $med != NA ]] && awk -v a="$med" -v b="$best_rps" 'BEGIN {exit !(a > b)}' && best_rps=$med
      [[ $p99 != NA ]] && { [[ -z $best_p99 ]] || awk -v a="$p99" -v b="$best_p99" 'BEGIN {exit !(a < b)}'; } && best_p99=$p99
    done
    read -r rps _ _ < <(stat3 clawengine "$mode" 3)
    read -r p99 _ _ < <(stat3 clawengine "$mode" 4)
    ratio_line "best reference" "$mode" "$rps" "$best_rps" "$p99" "${best_p99:-NA}"
    if [[ -n ${URL[baseline]:-} ]]; then
      read -r med _ _ < <(stat3 baseline "$mode" 3)
      read -r best_p99 _ _ < <(stat3 baseline "$mode" 4)
      ratio_line "baseline" "$mode" "$rps" "$med" "$p99" "$best_p99"
    fi
  done
  # Run against run, one other target at a time: the proxies' medians are often
  # closer than one run's noise, and "the best reference" is the best of two or
  # three noisy figures, which favours the references.
  echo "round by round (ratio: the median of the rounds' ratios, then their [min-max];"
  echo "won: rounds where the first had more req/s / a lower p99):"
  local i j same=""
  if [[ -n ${URL[baseline]:-} ]] && same_build "$BASELINE" "$CLAWENGINE"; then same=1; fi
  for mode in keepalive close; do
    for ref in "${REFERENCES[@]}" baseline; do
      if [[ -n ${URL[$ref]:-} && ! ( $ref == baseline && -n $same ) ]]; then
        pair_line "$mode" clawengine "$ref"
      fi
    done
  done
  # The same figures between targets that are not the daemon say how far two
  # proxies differ in one run by chance: two mature ones against each other, and
  # the daemon against itself when the baseline is the same build.
  echo "for scale, the same between the other targets:"
  for mode in keepalive close; do
    for ((i = 0; i < ${#REFERENCES[@]}; i++)); do
      for ((j = i + 1; j < ${#REFERENCES[@]}; j++)); do
        if [[ -n ${URL[${REFERENCES[i]}]:-} && -n ${URL[${REFERENCES[j]}]:-} ]]; then
          pair_line "$mode" "${REFERENCES[i]}" "${REFERENCES[j]}"
        fi
      done
    done
    if [[ -n $same ]]; then
      pair_line "$mode" clawengine "baseline" "(the same build)"
    fi
  done
}

# Whether two clawengine binaries are the same build (and so their daemons).
same_build() { # A B
  cmp -s "$1" "$2" && cmp -s "$(dirname "$1")/clawengine-daemon" "$(dirname "$2")/clawengine-daemon"
}

# One line comparing target A with target B in MODE, round by round.
pair_line() { # MODE A B [NOTE]
  awk -F'\t' -v m="$1" -v a="$2" -v b="$3" -v note="${4:-}" '
    function median(v, n,   i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    $2 == m && $1 == a { arps[$8] = $3; ap99[$8] = $4 }
    $2 == m && $1 == b { brps[$8] = $3; bp99[$8] = $4 }
    END {
      for (k in arps) if (k in brps && arps[k] != "NA" && brps[k] != "NA" && brps[k] > 0 && bp99[k] > 0) {
        n++; rr[n] = arps[k] / brps[k]; pr[n] = ap99[k] / bp99[k]
        if (arps[k] + 0 > brps[k] + 0) w++; if (ap99[k] + 0 < bp99[k] + 0) l++ }
      if (n == 0) { printf "  %-9s %s vs %s: no round with both\n", m, a, b; exit }
      rm = median(rr, n); pm = median(pr, n) # (median sorts: [1] and [n] are then min and max)
      printf "  %-9s %-12s vs %-12s req/s %.2fx [%.2f-%.2f]  p99 %.2fx [%.2f-%.2f]  won %d/%d, %d/%d%s\n",
        m, a, b, rm, rr[1], rr[n], pm, pr[1], pr[n], w, n, l, n, note == "" ? "" : "  " note }' "$WORK/results.tsv"
}

# Memory and CPU of the proxy processes: idle, and with HOLD_CONNS idle
# connections held open (one request made on each).
run_resources() {
  local t pid port helper out line i
  declare -A rss_idle=() rss_held=() cpu_idle=() cpu_held=() opened=()
  local measured=()
  for t in "${TARGETS[@]}"; do [[ -n ${PID[$t]} ]] && measured+=("$t"); done
  echo
  echo "== memory and CPU of the proxy processes"

  # Idle CPU: one window for all processes at once; no load runs now, so
  # anything above a tick or two is polling or timers.
  declare -A t0=()
  for t in "${measured[@]}"; do rss_idle[$t]=$(rss_kb "${PID[$t]}"); t0[$t]=$(cpu_ticks "${PID[$t]}"); done
  sleep "$IDLE_SECONDS"
  for t in "${measured[@]}"; do
    cpu_idle[$t]=$(cpu_delta_s "${t0[$t]}" "$(cpu_ticks "${PID[$t]}")")
  done

  # One target at a time, so each proxy's memory is read with only its own
  # connections open.
  for t in "${measured[@]}"; do
    check_backend
    pid=${PID[$t]}
    if ! kill -0 "$pid" 2>/dev/null; then
      note_end "$t"
      log "$t: process $pid is gone (${GONE_WHY[$t]}), not measured"
      continue
    fi
    out="$WORK/hold-$t.txt"
    port=${URL[$t]##*:}; port=${port%/}
    python3 "$ROOT/bench/hold_conns.py" 127.0.0.1 "$port" "$HOLD_CONNS" 120 >"$out" 2>&1 &
    helper=$!
    STARTED_PIDS+=("$helper")
    line=""
    for i in $(seq 1 300); do  # up to 60 s to open them
      line=$(head -1 "$out" 2>/dev/null || true)
      [[ -n $line ]] && break
      kill -0 "$helper" 2>/dev/null || break
      sleep 0.2
    done
    opened[$t]=$(awk '$1 == "ready" {print $2 "/" $2 + $4}' <<<"$line")
    [[ -n ${opened[$t]} ]] || log "$t: the connection helper said: $(tail -2 "$out")"
    sleep 1  # let the proxy finish setting up the last backend legs
    rss_held[$t]=$(rss_kb "$pid")
    local c0
    c0=$(cpu_ticks "$pid")
    sleep "$IDLE_SECONDS"
    cpu_held[$t]=$(cpu_delta_s "$c0" "$(cpu_ticks "$pid")")
    kill -TERM "$helper" 2>/dev/null || true
    wait "$helper" 2>/dev/null || true
    sleep 1  # the connections close before the next proxy is measured
  done

  printf '%-12s %-8s %10s %10s %14s %14s %12s %14s\n' process pid "RSS fresh" "RSS idle" \
    "RSS $HOLD_CONNS conns" "conns opened" "CPU idle ${IDLE_SECONDS}s" "CPU held ${IDLE_SECONDS}s"
  for t in "${measured[@]}"; do
    printf '%-12s %-8s %10s %10s %14s %14s %12s %14s\n' "$t" "${PID[$t]}" \
      "$(mb "${RSS_FRESH[$t]:-}")" "$(mb "${rss_idle[$t]:-}")" "$(mb "${rss_held[$t]:-}")" \
      "${opened[$t]:-NA}" "$(secs "${cpu_idle[$t]:-NA}")" "$(secs "${cpu_held[$t]:-NA}")"
  done
  if [[ -n ${NGINX_MASTER:-} ]]; then
    echo "(nginx master, not counted above: $(mb "$(rss_kb "$NGINX_MASTER")") MB)"
  fi
  [[ -n ${EXE[clawengine]:-} ]] &&
    echo "clawengine: the daemon's process, pid ${PID[clawengine]}, running ${EXE[clawengine]}"
  echo "scheduling (kernel.sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '?')):" \
    "wrk and this script: $(sched_group $$)"
  local mine group
  mine=$(sched_group $$)
  for t in "${measured[@]}"; do
    group=$(sched_group "${PID[$t]}")
    echo "  $t: $group$([[ $group == "$mine" ]] && echo " (shares wrk's: its figures suffer)")"
  done
  echo "RSS in MB as VmRSS/RssAnon (RssAnon: the process's own memory, without shared-library pages);"
  echo "RSS fresh: after start, before any load; RSS idle: after the throughput runs;"
  echo "CPU: user+system seconds over ${IDLE_SECONDS}s with no connections / with the connections held idle"
}

secs() { [[ $1 == NA ]] && echo NA || echo "${1}s"; }
# "VmRSS/RssAnon" in MB, from rss_kb's pair.
mb() {
  if [[ $1 =~ ^[0-9]+\ [0-9]+$ ]]; then awk -v p="$1" 'BEGIN {split(p, k, " "); printf "%.1f/%.1f", k[1] / 1024, k[2] / 1024}'
  else echo NA; fi
}

# The daemon says which kernel features it uses (splice, SCM_RIGHTS,
# epoll) in a "features:" log line; repeat it here when it does.
print_features() {
  [[ -n ${URL[clawengine]:-} ]] || return 0
  local line
  line=$(grep -h "features:" "$WORK/clawengine/daemon.log" "$WORK/clawengine/stdout.log" 2>/dev/null | tail -1 || true)
  [[ -n $line ]] && { echo; echo "clawengine kernel $line" | sed 's/.*features:/clawengine kernel features:/'; }
  return 0
}

# Percent of the machine's CPU time that was idle over the next SECONDS
# (from the "cpu" line of /proc/stat: idle + iowait over all fields).
machine_idle_pct() {
  local a b
  a=$(awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t}' /proc/stat)
  sleep "$1"
  b=$(awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ")
    d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# A breath before each run: the last run's closing connections and queued
# work finish first. This machine is shared, so it also waits (up to
# QUIET_WAIT seconds) for the CPU to be at least QUIET_IDLE % idle without
# us; the idle share is printed with the run either way, so that a slow run
# can be told from a run beside someone else's test suite.
wait_quiet() {
  local waited=0
  while :; do
    IDLE_BEFORE=$(machine_idle_pct 1)
    ((IDLE_BEFORE >= QUIET_IDLE || waited >= QUIET_WAIT)) && break
    waited=$((waited + 1))
  done
  return 0
}

# Load average and other containers: this machine is shared (other work, other
# tests' containers), and the figures are only as quiet as it is.
machine_load() {
  local others
  others=$(docker ps --format '{{.Names}}' | grep -vx "$BACKEND" | paste -sd, - || true)
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg); other containers running: ${others:-none}"
}

print_header() {
  echo "== proxy benchmark: $(nproc) cores, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "backend: $IMAGE as $BACKEND at $BACKEND_IP:$BACKEND_PORT"
  echo "machine: $(machine_load)"
  echo "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), docker $(docker version -f '{{.Server.Version}}' 2>/dev/null)," \
    "nginx $(nginx -v 2>&1 | sed 's|.*/||'), haproxy $(haproxy -v 2>/dev/null | awk 'NR == 1 {print $3}')"
  local t
  for t in "${TARGETS[@]}"; do
    printf '  %-12s %-28s pid %s%s\n' "$t" "${URL[$t]}" "${PID[$t]:--}" \
      "${EXE[$t]:+ (${EXE[$t]})}"
  done
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root (apt-get, docker)"
  local v
  for v in DURATION REPEAT HOLD_CONNS QUIET_IDLE QUIET_WAIT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
  done
  ((REPEAT >= 1 && DURATION >= 1)) || die "DURATION and REPEAT must be at least 1"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/proxy-bench.XXXXXX")
  install_tools
  # A container of this name is a leftover of an earlier run that was killed
  # (SIGKILL skips the trap); it would hold the published port.
  docker rm -f "$BACKEND" >/dev/null 2>&1 || true
  for p in "$PORT_DOCKER" "$PORT_NGINX" "$PORT_HAPROXY" "$PORT_CLAW" "$PORT_BASELINE"; do
    port_free "$p" || die "port $p is in use"
  done
  start_backend
  add_target direct "http://$BACKEND_IP:$BACKEND_PORT/" ""
  local dp
  dp=$(find_docker_proxy)
  [[ -n $dp ]] || log "docker-proxy: no process found (userland-proxy disabled?); its path is iptables DNAT then"
  add_target docker-proxy "http://127.0.0.1:$PORT_DOCKER/" "$dp"
  start_nginx
  start_haproxy
  start_clawengine clawengine "$CLAWENGINE" "$PORT_CLAW"
  [[ -z $BASELINE ]] || start_clawengine baseline "$BASELINE" "$PORT_BASELINE"
  print_header
  run_throughput
  print_throughput_table
  run_resources
  print_features
}

main "$@"
