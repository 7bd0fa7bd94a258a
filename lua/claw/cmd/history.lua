-- `clawengine history [NAME] [--json]`: one record per update attempt, oldest first.
local args = require "claw.args"
local engine = require "claw.engine"
local fmt = require "claw.fmt"
local journal = require "claw.journal"
local json = require "claw.json"
local R = require "claw.rollout"
local time = require "claw.time"

local spec = {
  usage = "clawengine history [NAME] [--json]",
  description = "One record per update attempt, and per policy run of the daemon (kind run).",
  options = { { "json", help = "print JSON" } },
}
local opts, words = args.parse(arg, spec)
if #words > 1 then args.fail(spec, "history: one NAME at most, not %d", #words) end
local only = words[1]

local records, started = {}, {}
for _, path in ipairs(assert(journal.files(journal.dir()))) do
  local recs = assert(journal.read(path))
  local u = R.from_records(path, recs)
  if u.name and (not only or u.name == only) then
    local first = recs[1] or {}
    records[#records + 1] = {
      time = u.started and time.format(u.started) or json.null,
      target = u.name, kind = first.kind or "update", image = u.image or json.null,
      old_image = u.old_image or json.null, new_image = u.new_image or json.null,
      old_digest = u.old_digest or json.null, new_digest = u.new_digest or json.null,
      route = u.route or json.null, order = u.order or json.null,
      backups = json.array(u.backups), timeline = json.array(u.timeline),
      outcome = u.outcome or "in progress (interrupted? run clawengine recover)",
      reason = u.ended and u.ended.reason or json.null,
      restored = u.ended and u.ended.restored or json.array(),
      duration = u.ended and u.ended.duration or json.null,
      route_failures = u.ended and u.ended.route_failures or json.null,
      seconds_to_healthy = u.ended and u.ended.seconds_to_healthy or json.null,
      gap = u.ended and u.ended.gap or json.null, -- stop-first: seconds nothing served
      canary = u.ended and u.ended.canary or nil, -- a promoted canary's figures
      journal = path,
    }
    started[records[#records]] = u.started or 0
  end
end

-- The daemon's policy runs (API, schedules): <state dir>/runs.jsonl and its older
-- generation runs.jsonl.1, one record per run that ended.
for _, path in ipairs { engine.state_dir .. "/runs.jsonl.1", engine.state_dir .. "/runs.jsonl" } do
  for _, r in ipairs(journal.read(path) or {}) do
    if r.kind == "run" and type(r.started) == "number" and (not only or r.name == only) then
      records[#records + 1] = {
        time = time.format(r.started), target = r.name, kind = "run", run = r.id,
        trigger = r.trigger, policy = r.policy or json.null, args = json.array(r.args or {}),
        targets = json.array(r.targets or {}), outcome = r.result, exit_code = r.exit_code,
        duration = r.duration or json.null, journal = path,
      }
      started[records[#records]] = r.started
    end
  end
end
table.sort(records, function(a, b) return started[a] < started[b] end)

if opts.json or engine.json then
  io.write(json.encode(json.array(records)), "\n")
  return
end
if #records == 0 then
  io.stderr:write("no updates in the history\n")
  return
end
local rows = {}
for _, r in ipairs(records) do
  local outcome = r.kind == "run" and string.format("%s (exit %d)", r.outcome, r.exit_code) or r.outcome
  rows[#rows + 1] = { r.time, r.target, r.kind, fmt.short_digest(r.old_image ~= json.null and r.old_image or nil),
    fmt.short_digest(r.new_image ~= json.null and r.new_image or nil),
    r.duration ~= json.null and string.format("%.1fs", r.duration) or "-", outcome }
end
io.write(fmt.table({ "TIME", "TARGET", "KIND", "FROM", "TO", "TOOK", "OUTCOME" }, rows))
