-- scheduled.lua: runs another policy on a cron schedule, in the foreground.
--
--   clawengine run policies/scheduled.lua --schedule EXPR [OPTIONS] POLICY.lua [-- ARGS...]
--
-- Each run is `clawengine run POLICY.lua ARGS...` in a child process, so a policy that
-- fails or crashes never stops the schedule. A run still going when the next one is
-- due makes that one skipped (and counted), never a second run beside it. --jitter
-- spreads the start, --window keeps runs inside a maintenance window, and
-- --run-on-start runs once at once. SIGTERM or Ctrl-C stops the run under way
-- (SIGTERM, then SIGKILL after --stop-timeout) and ends with a summary and exit 0.
-- With --dry-run it prints the next run times and runs nothing. See docs/scheduling.md.
local args = require "claw.args"
local cron = require "claw.cron"
local engine = require "claw.engine"
local log = require "claw.log"
local process = require "claw.process"
local time = require "claw.time"

local spec = {
  usage = "clawengine run policies/scheduled.lua --schedule EXPR [OPTIONS] POLICY.lua [-- ARGS...]",
  description = "Runs a policy on a cron schedule; a run still going when the next is due makes that one skipped.",
  options = {
    { "schedule", value = "EXPR", help = "a cron expression (5 or 6 fields, @daily, @every 30m, CRON_TZ=Area/City ...)" },
    { "jitter", value = "SECONDS", number = true, default = 0, help = "start each run up to this much later, at random" },
    { "window", value = "HH:MM-HH:MM", help = "run only when the start falls in this daily window (the schedule's zone)" },
    { "run-on-start", help = "run once at start, then follow the schedule" },
    { "stop-timeout", value = "SECONDS", number = true, default = 60, help = "on stop, how long the run under way may take to end after SIGTERM" },
  },
}
local opts, rest = args.parse(arg, spec)
if not opts.schedule then args.fail(spec, "--schedule is required") end
local sched, serr = cron.parse(opts.schedule)
if not sched then args.fail(spec, "--schedule %q: %s", opts.schedule, serr.message) end
if opts.jitter < 0 then args.fail(spec, "--jitter must be 0 or more seconds, not %g", opts.jitter) end
if opts.stop_timeout < 0 or opts.stop_timeout > 86400 then
  args.fail(spec, "--stop-timeout must be seconds from 0 to 86400, not %g", opts.stop_timeout)
end
local policy = rest[1]
if not policy then args.fail(spec, "no policy to run (POLICY.lua)") end
-- As `clawengine run` finds it: a file, else a stock policy named without a folder.
local function readable(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end
if not readable(policy) then
  local stock = engine.policy_dir .. "/" .. policy:match("[^/]*$"):gsub("%.lua$", "") .. ".lua"
  if (policy:find("/") and not policy:find("^policies/")) or not readable(stock) then
    args.fail(spec, "cannot read the policy %s", policy)
  end
  policy = stock
end

-- The window as minutes of the day; an end before the start spans midnight.
local window
if opts.window then
  local h1, m1, h2, m2 = opts.window:match("^(%d%d?):(%d%d)%-(%d%d?):(%d%d)$")
  local a, b = tonumber(h1) and (h1 * 60 + m1), tonumber(h2) and (h2 * 60 + m2)
  if not a or tonumber(h1) > 23 or tonumber(h2) > 24 or tonumber(m1) > 59 or tonumber(m2) > 59
      or b > 24 * 60 or a == b then
    args.fail(spec, "--window %q is not HH:MM-HH:MM with two different times", opts.window)
  end
  window = { from = a, to = b }
end

local zone = sched:zone()
local function clock(t) return time.format(t, "%Y-%m-%d %H:%M:%S %Z", { zone = zone }) end

local function in_window(t)
  if not window then return true end
  local h, m = time.format(t, "%H %M", { zone = zone }):match("(%d+) (%d+)")
  local now = tonumber(h) * 60 + tonumber(m)
  if window.from < window.to then return now >= window.from and now < window.to end
  return now >= window.from or now < window.to
end

-- The child: this engine, with the Docker host it was given.
local command = { arg[-1] }
if engine.docker_host ~= "" then table.move({ "-H", engine.docker_host }, 1, 2, 2, command) end
table.move({ "run", policy }, 1, 2, #command + 1, command)
table.move(rest, 2, #rest, #command + 1, command)

if engine.dry_run then
  local t, lines = time.now(), {}
  for i = 1, 5 do
    t = assert(sched:next(t))
    lines[i] = "  " .. clock(t) .. (in_window(t) and "" or " (outside the window: skipped)")
  end
  io.write("would run: ", table.concat(command, " "), "\n",
    opts.run_on_start and "once at start, then at:\n" or "at:\n", table.concat(lines, "\n"), "\n")
  return 0
end

local stats = { runs = 0, failed = 0, skipped = 0, outside = 0 } -- failed: ended non-zero by itself
local running -- { p = process, n = run number, t0 = monotonic start }

local function start_run(due)
  stats.runs = stats.runs + 1
  local p, err = process.spawn(command, { group = true })
  if not p then
    stats.failed = stats.failed + 1
    log.error("run failed to start", { run = stats.runs, reason = err.message })
    return
  end
  running = { p = p, n = stats.runs, t0 = time.monotonic() }
  log.info("run started", { run = stats.runs, due = due and clock(due) or "start", pid = p:pid() })
end

local function ended(code, stopped)
  if code ~= 0 and not stopped then stats.failed = stats.failed + 1 end
  log[(code == 0 or stopped) and "info" or "warn"](stopped and "run stopped" or "run ended", { run = running.n,
    exit = code, took = string.format("%.1fs", time.monotonic() - running.t0) })
  running.p:close()
  running = nil
end

-- Waits until wall-clock time `t`, reaping the run under way if it ends meanwhile.
-- Sleeps in slices so a changed clock or a suspended machine is noticed.
local function wait_until(t)
  while true do
    local left = t - time.now()
    if left <= 0 then return end
    local slice = math.min(left, 60)
    if running then
      local code = running.p:wait(slice)
      if code then ended(code) end
    else
      time.sleep(slice)
    end
  end
end

local function due_at(t)
  if not in_window(t) then
    stats.outside = stats.outside + 1
    log.info("outside the window: not run", { due = clock(t), window = opts.window })
  elseif running then
    stats.skipped = stats.skipped + 1
    log.warn("skipped: the previous run is still going", { due = clock(t), run = running.n,
      skipped = stats.skipped })
  else
    start_run(t)
  end
end

local function loop()
  log.info("scheduled", { schedule = tostring(sched), policy = policy, next = clock(assert(sched:next())) })
  if opts.run_on_start then due_at(time.now()) end
  local due = assert(sched:next())
  while true do
    wait_until(due + (opts.jitter > 0 and math.random() * opts.jitter or 0))
    due_at(due)
    -- From the time just due, so "@every" keeps its interval whatever the jitter;
    -- after a suspend or a stall longer than the jitter, from now: missed times are
    -- not made up.
    local now = time.now()
    due = assert(sched:next(due > now - opts.jitter and due or now))
  end
end

local ok, err = pcall(loop)
if not ok and not (type(err) == "table" and err.code == "interrupted") then error(err, 0) end
if running then
  log.info("stopping the run under way", { run = running.n, pid = running.p:pid() })
  running.p:kill("TERM")
  local code = running.p:wait(opts.stop_timeout)
  if not code then
    running.p:kill("KILL")
    code = running.p:wait()
  end
  ended(code, true)
end
io.stderr:write(string.format("scheduled: %d run(s), %d failed, %d skipped (still running), %d outside the window\n",
  stats.runs, stats.failed, stats.skipped, stats.outside))
return 0
