#!/usr/bin/env bash
# bench/rolling.sh — an update v1 -> v2 under load, two ways, side by side in
# one run. Prints figures; never passes or fails on time (see bench/README.md).
#
#   clawengine   a v1 container behind `clawengine daemon` (route on
#                127.0.0.1:PORT_CLAW, the container publishes nothing), updated
#                by `clawengine run policies/rolling.lua NAME --image ...:v2
#                --no-pull --monitor 0`
#   hand-written a v1 container publishing 127.0.0.1:PORT_HAND itself, updated
#                the way `docker compose up -d` does it: docker stop, docker rm,
#                docker run with the same name, port and environment
#
# Each path runs twice per round: wrk with keep-alive, and wrk with
# `Connection: close`, so that new connections must be accepted during the
# update. Beside wrk a prober makes one new-connection GET every 5 ms and logs
# each answer, for the longest stretch without a successful response. Docker's
# own event stream gives the new container's start and `healthy` moments, the
# same clock for both paths. Last, "rollback by route flip": two containers on a
# route, `clawengine route switch` timed until the first answer from the other
# version.
#
# Environment: REPEAT (rounds, 3), READY_DELAY (s the new version takes to be
# ready, 2), LEAD (s of load before the update starts, 2), WRK_SECONDS (length
# of each wrk run, LEAD + READY_DELAY + 9), FLIPS (route flips per round, 10),
# CLAWENGINE (binary, build/clawengine), ONLY (run only these of claw-keepalive
# claw-close hand-keepalive hand-close flip), KEEP=1 (keep the temp dir with
# every run's raw output: wrk, probe log, Docker events, history).
#
# Needs root (docker). Load goes only to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPEAT=${REPEAT:-3}
READY_DELAY=${READY_DELAY:-2}
LEAD=${LEAD:-2}
WRK_SECONDS=${WRK_SECONDS:-$((LEAD + READY_DELAY + 9))}
FLIPS=${FLIPS:-10}
CLAWENGINE=${CLAWENGINE:-$ROOT/build/clawengine}
POLICY=$ROOT/policies/rolling.lua
WRK_THREADS=2
WRK_CONNS=16
V1=clawtest/gateway:v1
V2=clawtest/gateway:v2
V1_VERSION=1.0.0        # what they answer in X-Gateway-Version and /version
V2_VERSION=2.0.0
NAME=claw-bench-roll            # the container updated through the route
HAND=claw-bench-roll-hand       # the container updated by hand
FLIP_A=claw-bench-roll-flip-a   # v1 and v2 side by side for the route flips
FLIP_B=claw-bench-roll-flip-b
OURS=("$NAME" "$NAME-next" "$NAME-previous" "$HAND" "$FLIP_A" "$FLIP_B")
PORT_CLAW=28811
PORT_HAND=28812
PORT_FLIP=28813

WORK=""                 # temp dir: configs, logs, per-run output, results
STARTED_PIDS=()         # processes this script started, stopped on exit
PYTHON=python3
TAGS_BEFORE=""          # clawtest/gateway:rollback / :stable existing at start

log() { printf '%s\n' "$*" >&2; }
die() { log "rolling.sh: $*"; exit 1; }
now() { date +%s.%N; }

# ---- cleanup ---------------------------------------------------------------

# Stops only what this script started (by PID), removes its containers, the
# image tags the policy made (when they did not exist before) and the temp
# dir. Runs on every exit, including Ctrl-C and SIGTERM.
cleanup() {
  local pid i alive tag
  trap - EXIT INT TERM
  for pid in "${STARTED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${STARTED_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.3
    [[ $i == 10 ]] && for pid in "${STARTED_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  done
  docker rm -f "${OURS[@]}" >/dev/null 2>&1 || true
  for tag in clawtest/gateway:rollback clawtest/gateway:stable; do
    [[ " $TAGS_BEFORE " == *" $tag "* ]] || docker rmi "$tag" >/dev/null 2>&1 || true
  done
  if [[ -n $WORK && ${KEEP:-0} == 1 ]]; then
    log "kept: $WORK"
  elif [[ -n $WORK ]]; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers written into the temp dir -------------------------------------

write_helpers() {
  # wrk: one line with the figures, from the done hook.
  cat >"$WORK/count.lua" <<'LUA'
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format("WRK %d %d %d %d %d %d %d %d %d\n", s.requests,
    e.connect + e.read + e.write + e.timeout + e.status, latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status, s.duration))
end
LUA

  # The prober: one GET on a new connection every 5 ms until SIGTERM (at most
  # 600 s); a line per probe: "sent done ok version", ok = a whole 200 answer
  # (1 s timeout). Probes go out on the tick whether or not earlier ones have
  # answered, so one probe that hangs does not hide when the service came
  # back. READY is created after a first probe: Python can take seconds to
  # start on a loaded machine, and the load must not start before the prober.
  cat >"$WORK/prober.py" <<'PY'
import signal, socket, sys, threading, time
host, port, out, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
REQ = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
rows, stop = [], threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

def get():
    with socket.create_connection((host, port), timeout=1.0) as s:
        s.settimeout(1.0)
        s.sendall(REQ)
        buf = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split(" ")
    status = words[1] if len(words) > 1 else "none"
    hdr = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdr[k.strip().lower()] = v.strip()
    whole = len(body) >= int(hdr.get("content-length", "0") or 0)
    return (1 if status == "200" and whole else 0), hdr.get("x-gateway-version", "status-" + status)

def probe():
    t0 = time.time()
    try:
        ok, ver = get()
    except OSError as e:
        ok, ver = 0, type(e).__name__
    rows.append("%.6f %.6f %d %s" % (t0, time.time(), ok, ver))

probe()
open(ready, "w").close()
end = time.time() + 600
tick = time.time()
threads = []
while not stop.is_set() and time.time() < end:
    t = threading.Thread(target=probe)
    t.start()
    threads.append(t)
    threads = [t for t in threads if t.is_alive()]
    tick += 0.005
    d = tick - time.time()
    if d > 0:
        stop.wait(d)
    else:
        tick = time.time()
for t in threads:
    t.join()
rows.sort()
with open(out, "w") as f:
    f.write("\n".join(rows) + "\n")
PY

  # Route flips: from the call of `clawengine route switch` to the first answer
  # (new connection, polled every 1 ms) from the other version.
  cat >"$WORK/flip.py" <<'PY'
import socket, subprocess, sys, time
claw, route, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pairs = [(sys.argv[5], sys.argv[6]), (sys.argv[7], sys.argv[8])]  # (container, version)

def version():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.settimeout(1.0)
            s.sendall(b"GET /version HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            buf = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                buf += b
        return buf.partition(b"\r\n\r\n")[2].decode().strip()
    except OSError:
        return None

for i in range(n):
    target, want = pairs[(i + 1) % 2]  # A serves at the start: flip to B first
    t0 = time.monotonic()
    p = subprocess.Popen([claw, "route", "switch", route, target])
    polls, seen = 0, None
    while time.monotonic() - t0 < 5:
        polls += 1
        if version() == want:
            seen = time.monotonic()
            break
        time.sleep(0.001)
    rc = p.wait()
    t_cmd = time.monotonic() - t0
    print("%s %s %.3f %.3f %d %d" % (target, want, (seen - t0) * 1000 if seen else -1, t_cmd * 1000, polls, rc),
          flush=True)
    time.sleep(0.2)
PY

  # One run's figures, as one TSV line (see RESULT_COLS) and one line for people.
  cat >"$WORK/analyze.py" <<'PY'
import datetime, json, sys
a = dict(x.split("=", 1) for x in sys.argv[1:])
def num(k):
    v = a.get(k, "")
    return float(v) if v not in ("", "NA") else None
def fmt(v, scale=1.0, prec=3):
    return "NA" if v is None else ("%." + str(prec) + "f") % (v * scale)

# wrk
w = None
for line in open(a["wrk"]):
    if line.startswith("WRK "):
        w = [int(x) for x in line.split()[1:]]
requests, failed, p99_us = (w[0], w[1], w[2]) if w else (None, None, None)
kinds = ("connect %d read %d write %d timeout %d status %d" % tuple(w[3:8])) if w else "wrk printed nothing"

# prober
probes = [l.split() for l in open(a["probe"]) if l.strip()]
succ = sorted(float(p[1]) for p in probes if p[2] == "1")
failed_probes = sum(1 for p in probes if p[2] != "1")
def longest(ts):
    return max((b - x for x, b in zip(ts, ts[1:])), default=None)
def longest_at(ts):  # where the longest gap starts
    return max(((b - x, x) for x, b in zip(ts, ts[1:])), default=(None, None))[1]
t_update = num("t_update")
gap = longest(succ)
base_gap = longest([t for t in succ if t < t_update])
new_answers = [float(p[1]) for p in probes if p[2] == "1" and p[3] == a["new_version"]]
first_new = min(new_answers) if new_answers else None
spacing = sorted(b - x for x, b in zip([float(p[0]) for p in probes], [float(p[0]) for p in probes][1:]))
median_spacing = spacing[len(spacing) // 2] if spacing else None

# Docker's events for the new container: start and health_status: healthy
started = healthy = None
for line in open(a["events"]):
    parts = line.split(None, 2)
    if len(parts) < 3 or parts[1] != a["new_id"]:
        continue
    t = int(parts[0]) / 1e9
    if parts[2].strip() == "start" and started is None:
        started = t
    if parts[2].strip() == "health_status: healthy" and healthy is None:
        healthy = t
healthy_s = healthy - started if started and healthy else None

switch_ms = step_ms = own_tth = create_start = engine_s = None
if a["path"] == "clawengine":
    hist = json.load(open(a["history"]))
    steps = {s["step"]: s["time"] for s in hist[-1]["timeline"]} if hist else {}
    res = json.loads(open(a["result"]).read() or "[{}]")
    own_tth = res[0].get("seconds_to_healthy") if res else None
    # When the daemon carried the switch out (its log, ms resolution): the
    # journal's "switch" step is written before the call, after an fsync.
    t_switch = None
    for line in open(a["daemon_log"]):
        if a["switch_line"] in line:
            t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
            t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
            if t >= t_update:
                t_switch = t
                break
    if t_switch is None:
        t_switch = steps.get("switch")
    wall = t_switch - t_update if t_switch else None
    done = num("t_done") - t_update
    if t_switch and healthy:
        switch_ms = (t_switch - healthy) * 1000
    if t_switch and steps.get("healthy"):
        step_ms = (t_switch - steps["healthy"]) * 1000
    if started and steps.get("create"):
        create_start = started - steps["create"]
    before_create = steps["create"] - t_update if steps.get("create") else None
    # The engine's own share of the overhead: its start-up and preparation before
    # it asks Docker to create the container, and healthy (Docker's event) -> switch.
    if before_create is not None and switch_ms is not None:
        engine_s = before_create + switch_ms / 1000
    t_served = t_switch
else:
    t_seen = num("t_seen")
    wall = t_seen - t_update if t_seen else None
    done = wall
    own_tth = t_seen - num("t_run_done") if t_seen else None
    if started:
        create_start = started - num("t_run")
    t_served = t_seen
overhead = wall - healthy_s if wall is not None and healthy_s is not None else None
first_new_ms = (first_new - healthy) * 1000 if first_new and healthy else None
cover = num("t_load_end") - t_served if t_served else None

row = [a["path"], a["mode"], a["round"], requests, failed, fmt(p99_us, 1e-3), len(probes), failed_probes,
       fmt(gap, 1000, 1), fmt(base_gap, 1000, 1), fmt(wall), fmt(healthy_s), fmt(overhead), fmt(done),
       fmt(switch_ms, 1, 1), fmt(first_new_ms, 1, 1), fmt(own_tth), fmt(cover, 1, 2), fmt(create_start),
       fmt(step_ms, 1, 1), fmt(engine_s)]
with open(a["tsv"], "a") as f:
    f.write("\t".join("NA" if v is None else str(v) for v in row) + "\n")

# Failed probes by the step of the update they fell in (by their send time).
if a["path"] == "clawengine":
    marks = sorted((t, n) for n, t in steps.items())
else:
    marks = [(t_update, "stop"), (num("t_rm"), "rm"), (num("t_run"), "run"), (num("t_run_done"), "started")]
    if num("t_seen"):
        marks.append((num("t_seen"), "healthy"))
marks = [(t_update - 1e9, "before")] + [m for m in marks if m[0] is not None]
by_step = {}
for p in probes:
    if p[2] != "1":
        t = float(p[0])
        step = [n for m, n in marks if m <= t][-1]
        first, last, n = by_step.get(step, (t, t, 0))
        by_step[step] = (min(first, t), max(last, t), n + 1)

print("    wrk: %s requests, %s failed (%s), p99 %s ms" % (requests, failed, kinds, fmt(p99_us, 1e-3)))
print("    prober: %d probes (median spacing %s ms), %d failed, longest gap %s ms (before the update: %s ms)"
      % (len(probes), fmt(median_spacing, 1000, 1), failed_probes, fmt(gap, 1000, 1), fmt(base_gap, 1000, 1)))
print("    wall %s s, new container start -> healthy %s s (docker events; own measure %s s), overhead %s s, done %s s"
      % (fmt(wall), fmt(healthy_s), fmt(own_tth), fmt(overhead), fmt(done)))
extra = "    create+start of the new container %s s" % fmt(create_start)
if a["path"] == "clawengine":
    extra = "    engine's own %s s: from the command's start to docker create %s s; " % (
        fmt(engine_s), fmt(before_create)) + extra.lstrip()
    extra += "; switch %s ms after docker said healthy (%s ms after the engine saw it)" % (
        fmt(switch_ms, 1, 1), fmt(step_ms, 1, 1))
    extra += ", done by the daemon %s ms after the journal's switch step" % (
        fmt((t_switch - steps["switch"]) * 1000, 1, 1) if steps.get("switch") else "NA")
else:
    extra += "; stop %s s, rm %s s" % (fmt(num("t_rm") - t_update), fmt(num("t_run") - num("t_rm")))
extra += "; first v2 answer %s ms after healthy" % fmt(first_new_ms, 1, 1)
print(extra)
if a["path"] == "clawengine":
    print("    timeline (s from the command's start): " + " ".join(
        "%s %+.2f" % (n, t - t_update) for t, n in sorted((t, n) for n, t in steps.items())))
gap_at = longest_at(succ)
if gap_at is not None:
    print("    the longest gap starts at %+.3f s, during '%s'"
          % (gap_at - t_update, [n for m, n in marks if m <= gap_at][-1]))
for step, (first, last, n) in sorted(by_step.items(), key=lambda kv: kv[1][0]):
    print("    %d failed probe(s) during '%s', %+.3f to %+.3f s from the update's start"
          % (n, step, first - t_update, last - t_update))
if cover is not None and cover < 2:
    print("    NOTE: load went on only %.2f s after the new version took over (wanted 2 s): raise WRK_SECONDS" % cover)
PY
}

RESULT_COLS="path mode round requests failed p99_ms probes failed_probes gap_ms base_gap_ms wall_s healthy_s overhead_s done_s switch_ms first_new_ms own_tth_s cover_s create_start_s step_ms engine_s"
col() { # NAME -> 1-based column in results.tsv
  local i=1 c
  for c in $RESULT_COLS; do [[ $c == "$1" ]] && { echo $i; return; }; i=$((i + 1)); done
  die "no column $1"
}

# ---- setup -----------------------------------------------------------------

port_free() { [[ -z $(ss -ltnH "sport = :$1") ]]; }

wait_healthy() { # NAME: polls every 50 ms, up to 30 s; prints the moment it saw healthy
  local i
  for i in $(seq 1 600); do
    if [[ $(docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null) == healthy ]]; then
      now; return 0
    fi
    sleep 0.05
  done
  return 1
}

claw() { "$CLAWENGINE" "$@"; }

wanted() { [[ -z ${ONLY:-} || " $ONLY " == *" $1 "* ]]; }

start_daemon() {
  cat >"$WORK/daemon.yml" <<EOF
admin: $WORK/admin.sock
state: $WORK/routes.json
log: $WORK/daemon.log
routes:
  up:
    listen: [ "127.0.0.1:$PORT_CLAW" ]
    container: $NAME
    port: 18789
  flip:
    listen: [ "127.0.0.1:$PORT_FLIP" ]
    container: $FLIP_A
    port: 18789
EOF
  # In a session of its own, as a service manager starts it: with
  # kernel.sched_autogroup_enabled=1 it would otherwise share wrk's CPU share
  # (bench/README.md, proxy.sh). setsid does not fork for a background job.
  setsid "$CLAWENGINE" daemon --config "$WORK/daemon.yml" >"$WORK/daemon.out" 2>&1 &
  STARTED_PIDS+=("$!")
  local i
  for i in $(seq 1 100); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT_CLAW/" 2>/dev/null && return 0
    sleep 0.1
  done
  die "the daemon does not answer on 127.0.0.1:$PORT_CLAW: $(tail -3 "$WORK/daemon.log" "$WORK/daemon.out" 2>/dev/null)"
}

# A fresh v1 container under NAME, served by the route. READY_DELAY is in its
# environment, so the clone the policy makes keeps it.
fresh_claw() {
  docker rm -f "$NAME" "$NAME-next" "$NAME-previous" >/dev/null 2>&1 || true
  docker run -d --name "$NAME" -e READY_DELAY="$READY_DELAY" "$V1" >/dev/null
  wait_healthy "$NAME" >/dev/null || die "$NAME did not become healthy"
  if [[ -S $WORK/admin.sock ]]; then
    claw route add up "$NAME" >/dev/null
    claw route switch up "$NAME"
  fi
}

# A fresh v1 container under HAND, publishing its own port, as compose runs it.
fresh_hand() {
  docker rm -f "$HAND" >/dev/null 2>&1 || true
  docker run -d --name "$HAND" -p "127.0.0.1:$PORT_HAND:18789" -e READY_DELAY="$READY_DELAY" "$V1" >/dev/null
  wait_healthy "$HAND" >/dev/null || die "$HAND did not become healthy"
}

# ---- one update under load -------------------------------------------------

# Starts wrk, the prober and a Docker event reader; sets LOAD_T0, RUN_DIR.
load_start() { # PORT MODE
  local port=$1 mode=$2 args=()
  [[ $mode == close ]] && args=(-H "Connection: close")
  docker events --since "$(date +%s)" --filter type=container --filter event=start \
    --filter event=health_status --format '{{.TimeNano}} {{.ID}} {{.Status}}' >"$RUN_DIR/events" 2>&1 &
  EVENTS_PID=$!
  STARTED_PIDS+=("$EVENTS_PID")
  # The prober stands for clients too: a session of its own, like wrk (below), so
  # that it does not share a CPU share with the update's commands.
  setsid "$PYTHON" "$WORK/prober.py" 127.0.0.1 "$port" "$RUN_DIR/probe" "$RUN_DIR/probe.ready" &
  PROBE_PID=$!
  STARTED_PIDS+=("$PROBE_PID")
  local i
  for i in $(seq 1 300); do [[ -e $RUN_DIR/probe.ready ]] && break; sleep 0.05; done
  [[ -e $RUN_DIR/probe.ready ]] || die "the prober did not start within 15 s"
  LOAD_T0=$(now)
  # wrk stands for clients on other machines: in a session of its own, so that
  # with kernel.sched_autogroup_enabled=1 it does not share a CPU share with
  # this script's commands (the update, the hand-written docker commands).
  setsid wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" -s "$WORK/count.lua" "${args[@]}" \
    "http://127.0.0.1:$port/" >"$RUN_DIR/wrk" 2>&1 &
  WRK_PID=$!
  STARTED_PIDS+=("$WRK_PID")
}

load_wait() {
  wait "$WRK_PID" || true
  kill -TERM "$PROBE_PID" 2>/dev/null || true
  wait "$PROBE_PID" || true
  sleep 0.3  # the last events arrive
  kill -TERM "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
}

run_claw() { # MODE ROUND
  local mode=$1 round=$2 t_update t_done rc=0 new_id
  RUN_DIR=$WORK/run-claw-$mode-$round; mkdir -p "$RUN_DIR"
  echo "  clawengine   $mode"
  fresh_claw
  sleep 1
  load_start "$PORT_CLAW" "$mode"
  sleep "$LEAD"
  t_update=$(now)
  claw run "$POLICY" "$NAME" --image "$V2" --no-pull --monitor 0 --json \
    >"$RUN_DIR/result" 2>"$RUN_DIR/stderr" || rc=$?
  t_done=$(now)
  load_wait
  if [[ $rc != 0 ]]; then
    echo "    the update failed (exit $rc): $(cat "$RUN_DIR/result") $(tail -3 "$RUN_DIR/stderr")"
  fi
  claw history "$NAME" --json >"$RUN_DIR/history" 2>/dev/null || echo '[]' >"$RUN_DIR/history"
  new_id=$(docker inspect -f '{{.Id}}' "$NAME" 2>/dev/null || true)
  "$PYTHON" "$WORK/analyze.py" path=clawengine mode="$mode" round="$round" tsv="$WORK/results.tsv" \
    wrk="$RUN_DIR/wrk" probe="$RUN_DIR/probe" events="$RUN_DIR/events" history="$RUN_DIR/history" \
    result="$RUN_DIR/result" new_id="$new_id" new_version="$V2_VERSION" \
    daemon_log="$WORK/daemon.log" switch_line="admin: switch up $NAME-next done" \
    t_update="$t_update" t_done="$t_done" t_load_end="$(awk -v a="$LOAD_T0" -v d="$WRK_SECONDS" 'BEGIN {printf "%.6f", a + d}')"
}

run_hand() { # MODE ROUND
  local mode=$1 round=$2 t_update t_rm t_run t_run_done t_seen="" new_id
  RUN_DIR=$WORK/run-hand-$mode-$round; mkdir -p "$RUN_DIR"
  echo "  hand-written $mode"
  fresh_hand
  sleep 1
  load_start "$PORT_HAND" "$mode"
  sleep "$LEAD"
  t_update=$(now)
  docker stop "$HAND" >/dev/null
  t_rm=$(now)
  docker rm "$HAND" >/dev/null
  t_run=$(now)
  docker run -d --name "$HAND" -p "127.0.0.1:$PORT_HAND:18789" -e READY_DELAY="$READY_DELAY" "$V2" >/dev/null
  t_run_done=$(now)
  t_seen=$(wait_healthy "$HAND") || echo "    $HAND did not become healthy within 30 s"
  load_wait
  new_id=$(docker inspect -f '{{.Id}}' "$HAND" 2>/dev/null || true)
  "$PYTHON" "$WORK/analyze.py" path=hand-written mode="$mode" round="$round" tsv="$WORK/results.tsv" \
    wrk="$RUN_DIR/wrk" probe="$RUN_DIR/probe" events="$RUN_DIR/events" new_id="$new_id" \
    new_version="$V2_VERSION" t_update="$t_update" t_rm="$t_rm" t_run="$t_run" \
    t_run_done="$t_run_done" t_seen="${t_seen:-NA}" \
    t_load_end="$(awk -v a="$LOAD_T0" -v d="$WRK_SECONDS" 'BEGIN {printf "%.6f", a + d}')"
}

run_flips() { # ROUND
  echo "  route flip   x$FLIPS"
  claw route switch flip "$FLIP_A"
  "$PYTHON" "$WORK/flip.py" "$CLAWENGINE" flip "$PORT_FLIP" "$FLIPS" \
    "$FLIP_A" "$V1_VERSION" "$FLIP_B" "$V2_VERSION" >"$WORK/flip-$1" 2>&1 || true
  # target version ms_to_other_version command_ms polls exit_code
  awk -v r="$1" 'NF == 6 && $3 >= 0 {print r "\t" $1 "\t" $3 "\t" $4 "\t" $5 "\t" $6}' "$WORK/flip-$1" >>"$WORK/flips.tsv"
  awk 'NF == 6 {s = s sprintf(" %.1f", $3)} END {print "    ms to the other version:" s}' "$WORK/flip-$1"
  awk 'NF != 6 || $3 < 0 || $6 != 0 {print "    " $0}' "$WORK/flip-$1"
}

# ---- summary ---------------------------------------------------------------

# "median min max" of the numbers on stdin, NA when there are none.
med3() {
  awk '$1 != "NA"' | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "NA NA NA"; exit }
    med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    print med, v[1], v[NR] }'
}

cell() { # PATH MODE COLUMN PRECISION -> "median [min-max]"
  local c
  c=$(col "$3")
  awk -F'\t' -v p="$1" -v m="$2" -v c="$c" '$1 == p && $2 == m {print $c}' "$WORK/results.tsv" | med3 |
    awk -v d="$4" '$1 == "NA" {print "NA"; next}
      {f = "%." d "f"; printf(f " [" f "-" f "]\n", $1, $2, $3)}'
}

total() { # PATH MODE COLUMN
  awk -F'\t' -v p="$1" -v m="$2" -v c="$(col "$3")" '$1 == p && $2 == m && $c != "NA" {n += $c} END {print n + 0}' "$WORK/results.tsv"
}

print_table() {
  local p m
  echo
  echo "== update v1 -> v2 under load: median [min-max] of $REPEAT runs each"
  printf '%-25s | %-22s | %-16s | %-22s | %-22s | %-19s | %-19s | %-19s | %-19s\n' path requests failed \
    "longest gap (ms)" "p99 (ms)" "wall (s)" "time to healthy (s)" "overhead (s)" "done (s)"
  for p in clawengine hand-written; do
    for m in keepalive close; do
      printf '%-25s | %-22s | %-16s | %-22s | %-22s | %-19s | %-19s | %-19s | %-19s\n' "$p ($m)" \
        "$(cell "$p" "$m" requests 0)" "$(cell "$p" "$m" failed 0)" "$(cell "$p" "$m" gap_ms 1)" \
        "$(cell "$p" "$m" p99_ms 2)" "$(cell "$p" "$m" wall_s 2)" "$(cell "$p" "$m" healthy_s 2)" \
        "$(cell "$p" "$m" overhead_s 2)" "$(cell "$p" "$m" done_s 2)"
    done
  done
  echo
  echo "failed requests, all runs: clawengine $(( $(total clawengine keepalive failed) + $(total clawengine close failed) ))" \
    "of $(( $(total clawengine keepalive requests) + $(total clawengine close requests) ));" \
    "hand-written $(( $(total hand-written keepalive failed) + $(total hand-written close failed) ))" \
    "of $(( $(total hand-written keepalive requests) + $(total hand-written close requests) ))"
  for p in clawengine hand-written; do
    for m in keepalive close; do
      printf 'failed probes %-25s %-18s longest gap before the update (ms) %-20s first v2 answer after healthy (ms) %s\n' \
        "$p ($m)" "$(cell "$p" "$m" failed_probes 0)" "$(cell "$p" "$m" base_gap_ms 1)" "$(cell "$p" "$m" first_new_ms 1)"
    done
  done
  for m in keepalive close; do
    echo "clawengine ($m): switch $(cell clawengine "$m" switch_ms 1) ms after Docker reported healthy" \
      "($(cell clawengine "$m" step_ms 1) ms after the engine saw it);" \
      "create+start of the new container $(cell clawengine "$m" create_start_s 2) s; seconds_to_healthy (--json) $(cell clawengine "$m" own_tth_s 2) s"
    echo "clawengine ($m): overhead = the engine's own $(cell clawengine "$m" engine_s 2) s (its start-up and" \
      "preparation before it asks Docker to create the container, and healthy -> switch)" \
      "+ Docker's create+start $(cell clawengine "$m" create_start_s 2) s"
  done
  for m in keepalive close; do
    echo "hand-written ($m): create+start of the new container $(cell hand-written "$m" create_start_s 2) s"
  done
  local flip
  flip=$(cut -f3 "$WORK/flips.tsv" 2>/dev/null | med3)
  read -r fm fl fh <<<"$flip"
  [[ $fm == NA ]] || fm=$(printf '%.1f ms median [%.1f-%.1f]' "$fm" "$fl" "$fh")
  echo "rollback by route flip: $fm from the call of \`clawengine route switch\` to the first answer" \
    "from the other version, n=$(wc -l <"$WORK/flips.tsv" 2>/dev/null || echo 0)" \
    "(the command itself: $(cut -f4 "$WORK/flips.tsv" 2>/dev/null | med3 | awk '$1 == "NA" {print "NA"; next} {printf "%.1f ms median [%.1f-%.1f]", $1, $2, $3}'))"
  echo
  echo "targets (issue): 0 failed of >= 20,000 requests; switch within 100 ms of readiness;"
  echo "  rollback by route flip within 100 ms; engine overhead <= 0.5 s. Figures only, no verdict."
  echo "wall: clawengine from the command's start to the route switch; hand-written from docker stop"
  echo "  to healthy (polled every 50 ms). time to healthy: Docker's start event -> its health_status:"
  echo "  healthy event for the new container. overhead = wall - time to healthy. done: until the"
  echo "  command exited (clawengine drains the old container's open connections and stops it first)."
}

machine_load() {
  local others
  others=$(docker ps --format '{{.Names}}' | grep -v "^claw-bench-roll" | paste -sd, - || true)
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg); other containers running: ${others:-none}"
}

print_header() {
  echo "== rolling update benchmark: $(nproc) cores, kernel $(uname -r), docker $(docker version -f '{{.Server.Version}}' 2>/dev/null)," \
    "wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(machine_load)"
  echo "update $V1 -> $V2 with READY_DELAY=$READY_DELAY; wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s" \
    "(update starts after ${LEAD}s); prober: 1 GET / on a new connection every 5 ms"
  echo "clawengine: route on 127.0.0.1:$PORT_CLAW -> $NAME; hand-written: $HAND publishing 127.0.0.1:$PORT_HAND"
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root (docker)"
  [[ $REPEAT =~ ^[0-9]+$ && $REPEAT -ge 1 && $WRK_SECONDS =~ ^[0-9]+$ && $LEAD =~ ^[0-9]+$ && $FLIPS =~ ^[0-9]+$ ]] ||
    die "REPEAT, WRK_SECONDS, LEAD and FLIPS must be whole numbers"
  [[ -x $CLAWENGINE ]] || die "no $CLAWENGINE (cmake -S . -B build && cmake --build build -j2)"
  command -v wrk >/dev/null || die "wrk is required"
  command -v python3 >/dev/null || die "python3 is required"
  docker info >/dev/null 2>&1 || die "cannot reach dockerd (docker info failed)"
  local img
  for img in "$V1" "$V2"; do docker image inspect "$img" >/dev/null 2>&1 || die "no image $img (tests/fixtures/gateway/build.sh)"; done
  # The interpreter itself, not a version manager's shim: a shim costs a
  # shell and a lookup on every start.
  PYTHON=$(python3 -c 'import sys; print(sys.executable)')
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/rolling-bench.XXXXXX")
  export CLAWENGINE_ADMIN=$WORK/admin.sock CLAWENGINE_STATE_DIR=$WORK/state
  TAGS_BEFORE=$(docker image ls --format '{{.Repository}}:{{.Tag}}' clawtest/gateway | paste -sd' ' - || true)
  # Containers of these names are leftovers of a run that was killed (SIGKILL
  # skips the trap); one would hold the published port.
  docker rm -f "${OURS[@]}" >/dev/null 2>&1 || true
  local p
  for p in "$PORT_CLAW" "$PORT_HAND" "$PORT_FLIP"; do port_free "$p" || die "port $p is in use"; done
  write_helpers
  : >"$WORK/results.tsv"
  : >"$WORK/flips.tsv"

  fresh_claw
  docker run -d --name "$FLIP_A" "$V1" >/dev/null
  docker run -d --name "$FLIP_B" "$V2" >/dev/null
  { wait_healthy "$FLIP_A" >/dev/null && wait_healthy "$FLIP_B" >/dev/null; } || die "the flip containers did not become healthy"
  start_daemon
  claw route add flip "$FLIP_B" >/dev/null
  [[ $(curl -s --max-time 2 "http://127.0.0.1:$PORT_FLIP/version") == "$V1_VERSION" ]] ||
    die "$V1 does not answer $V1_VERSION on /version"
  print_header

  # Round-robin, and the first scenario rotates each round, so the machine's
  # noise spreads over all of them.
  local scen=("claw keepalive" "hand keepalive" "claw close" "hand close") round i s
  for ((round = 1; round <= REPEAT; round++)); do
    echo
    echo "round $round/$REPEAT  ($(machine_load))"
    for ((i = 0; i < ${#scen[@]}; i++)); do
      s=${scen[(i + round - 1) % ${#scen[@]}]}
      wanted "${s% *}-${s#* }" && "run_${s% *}" "${s#* }" "$round"
    done
    if wanted flip; then run_flips "$round"; fi
  done
  echo
  echo "machine: $(machine_load)"
  print_table
}

main "$@"
