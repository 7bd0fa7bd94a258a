-- `clawengine schedule list [--json]`: the daemon's schedules (its config's
-- `schedules:`), their next run times, last run, skipped runs, and the run going on.
local args = require "claw.args"
local daemon = require "claw.daemon"
local engine = require "claw.engine"
local fmt = require "claw.fmt"
local json = require "claw.json"
local time = require "claw.time"

local usage = [[clawengine schedule list [--json] [--admin PATH]

Shows the schedules of the running daemon (docs/scheduling.md): each one's
cron expression and zone, its next three run times (in its zone), its last run,
how many runs were skipped because the previous one was still going, and the run
going on now.]]

local spec = {
  usage = usage,
  options = {
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "json", help = "print JSON" },
  },
}
local opts, words = args.parse(arg, spec)
local cmd = table.remove(words, 1)
if cmd == nil then args.fail(spec, "schedule: no command given") end
if cmd ~= "list" then args.fail(spec, "schedule: unknown command %q", cmd) end
if #words > 0 then args.fail(spec, "schedule list: expected no arguments") end

local list, err = daemon.schedules { admin = opts.admin }
if not list then
  io.stderr:write("clawengine: schedule list: ", err.message, "\n")
  return args.exit_code(err)
end

if opts.json or engine.json then
  io.write(json.encode(json.array(list)), "\n")
  return 0
end
if #list == 0 then
  io.stderr:write("the daemon has no schedules\n")
  return 0
end

local function at(t, zone)
  return time.format(t, "%Y-%m-%d %H:%M:%S", { zone = zone ~= "" and zone or nil })
end

local function last_run(r)
  if r == json.null then return "-" end
  return string.format("#%d %s %s (exit %d, %s)", r.id, at(r.started, ""), r.result, r.exit_code,
    fmt.duration(r.duration))
end

local rows = {}
for _, s in ipairs(list) do
  local next = {}
  for i, t in ipairs(s.next) do next[i] = at(t, s.zone) end
  rows[#rows + 1] = { s.name, s.cron, s.zone ~= "" and s.zone or "local",
    #next > 0 and table.concat(next, ", ") or "never", last_run(s.last_run), tostring(s.skipped),
    s.running and ("#" .. s.running) or "-" }
end
io.write(fmt.table({ "NAME", "CRON", "ZONE", "NEXT", "LAST RUN", "SKIPPED", "RUNNING" }, rows))
return 0
