-- canary.lua: tries a new version on a share of the new connections first.
--
--   clawengine run policies/canary.lua [OPTIONS] NAME
--   clawengine run policies/canary.lua [OPTIONS] --compose FILE [SERVICE...]
--   clawengine run policies/canary.lua [OPTIONS] --label KEY=VALUE
--
-- The new version starts beside the old one behind the daemon's route (a canary
-- needs the traffic switch) and passes its health gate, as in rolling.lua. Then the
-- route gives it a growing share of the new connections (--steps 5,25,50,100), and
-- each step is analysed for --step-duration seconds before the next: the canary's
-- health (and --health), the connect failures and resets the route sees to it
-- against those of the old container (the baseline), synthetic probes sent
-- straight to it when no connection reached it, and the site's own --check
-- functions. A failed analysis aborts: the old container gets its share back, the
-- canary is removed, the backups are restored; the reason says how many
-- connections reached the canary and how many failed. After the last step (100%)
-- the old container retires as in rolling.lua. In a group (the containers of a
-- Compose service, or those named or labelled), the first is the canary and the
-- others follow in batches, the rolling way. See docs/canary.md.
--
-- Exit codes: 0 promoted (or up to date); 1 aborted or failed (rolled back, or the
-- outcome says what is left); 2 usage (no route, bad --steps, unknown container,
-- a --check that is not a function); 3 policy error; 4 Docker unreachable. A
-- notification that cannot be sent is said on stderr and does not change them.
local args = require "claw.args"
local engine = require "claw.engine"
local health = require "claw.health"
local json = require "claw.json"
local log = require "claw.log"
local R = require "claw.rollout"
local route = require "claw.route"
local time = require "claw.time"

local spec = {
  usage = "clawengine run policies/canary.lua [OPTIONS] NAME | --label KEY=VALUE | --compose FILE [SERVICE...]",
  description = "Moves new connections to a new version in analysed steps; aborts back to the old one.",
  options = R.options { "image", "label", "compose",
    { "steps", value = "P,P,...", default = "5,25,50,100",
      help = "the canary's share of the new connections, in percent, step by step; the last is 100" },
    { "step-duration", value = "SECONDS", number = true, default = 30, help = "how long each step is analysed" },
    { "max-failure-rate", value = "RATE", number = true, default = 0,
      help = "how much the canary's share of failed connections may exceed the old one's (0 to 1)" },
    { "probe", value = "URL", help = "synthetic probe for a step no connection reached: /PATH on the canary's "
      .. "address, or a URL with {host} and {port} (default: --health, else a TCP connect)" },
    { "probes", value = "N", number = true, default = 10, help = "synthetic probes per such step; all must pass" },
    { "check", value = "FILE", list = true, help = "a site check: a Lua file returning function(ctx) -> ok, reason" },
    "backup", "backup-volume", "health", "expect", "port", "timeout",
    { "monitor", value = "SECONDS", number = true, default = 5,
      help = "in a group, how long each container after the canary is watched after its switch" },
    "drain-timeout", "route",
    "admin", "no-pull", "cleanup", "notify", "json" },
}
local opts, names = args.parse(arg, spec)
R.check_options(spec, opts, names)
opts.failure_action = "rollback"

-- --steps: whole percentages, increasing, ending at 100.
local steps = {}
for item in (opts.steps .. ","):gmatch("([^,]*),") do
  local p = tonumber(item)
  if not p or p ~= math.floor(p) or p < 1 or p > 100 then
    args.fail(spec, "--steps %s: %q is not a whole percentage from 1 to 100", opts.steps, item)
  end
  if #steps > 0 and p <= steps[#steps] then
    args.fail(spec, "--steps %s: the steps must increase (%d after %d)", opts.steps, p, steps[#steps])
  end
  steps[#steps + 1] = math.tointeger(p)
end
if steps[#steps] ~= 100 then
  args.fail(spec, "--steps %s: the last step must be 100 (the canary takes every new connection before it is "
    .. "promoted)", opts.steps)
end
if opts.step_duration <= 0 then args.fail(spec, "--step-duration must be more than 0 seconds") end
if opts.max_failure_rate < 0 or opts.max_failure_rate > 1 then
  args.fail(spec, "--max-failure-rate must be from 0 to 1, not %g", opts.max_failure_rate)
end
if opts.probes < 1 or opts.probes ~= math.floor(opts.probes) then
  args.fail(spec, "--probes must be a whole number of at least 1, not %g", opts.probes)
end
if opts.probe and not (opts.probe:match("^/") or opts.probe:match("^https?://")) then
  args.fail(spec, "--probe %s: want /PATH (on the canary's address) or an http:// URL", opts.probe)
end

-- The site checks: each file returns function(ctx) -> ok, reason.
local checks = {}
for _, path in ipairs(opts.check) do
  local chunk, err = loadfile(path)
  if not chunk then args.fail(spec, "--check %s", err) end
  local ok, fn = pcall(chunk)
  if not ok then args.fail(spec, "--check %s: %s", path, tostring(fn)) end
  if type(fn) ~= "function" then
    args.fail(spec, "--check %s: the file must return a function(ctx), not a %s", path, type(fn))
  end
  checks[#checks + 1] = { path = path, fn = fn }
end

local groups = R.groups(spec, opts, names)
-- The canary of each group needs the traffic switch: without a route nothing changes.
for _, g in ipairs(groups) do
  local c = g.targets[1]
  if c then
    local name = c.Name:gsub("^/", "")
    local routes, err = route.list { admin = opts.admin }
    if not routes then
      args.fail(spec, "a canary needs the daemon's traffic switch, and the daemon cannot be reached: %s", err.message)
    end
    local r = opts.route or R.find_route(name, opts.admin)
    if not r then
      args.fail(spec, "%s is not served by a route of the daemon: a canary needs the traffic switch to share "
        .. "new connections (`clawengine adopt %s --route NAME --listen ADDR` puts it behind one)", name, name)
    end
  end
end

local function failures(b) return b.connect_failures + b.resets end

-- "57 connection(s) reached the canary, 0 failed; the old container had 1083, 0 failed"
-- from the counters at the start (c0, b0) and now (c1, b1).
local function figures(c0, b0, c1, b1)
  return string.format("%d connection(s) reached the canary, %d failed; the old container had %d, %d failed",
    c1.total - c0.total, failures(c1) - failures(c0), b1.total - b0.total, failures(b1) - failures(b0))
end

-- The canary's and the baseline's backends on the route, with their counters.
local function counters(u, s)
  local found, err = R.backends(u.route, s)
  if not found then return nil, err end
  for _, name in ipairs { u.new_name, u.name } do
    if not found[name] then return R.fail("not_found", "route %s has no backend %s", u.route, name) end
  end
  return found[u.new_name], found[u.name]
end

-- The analysis that runs all through a step: the canary's share of failed
-- connections (connect failures and resets) may not exceed the baseline's by more
-- than --max-failure-rate.
local function compare(s, c0, b0, c1, b1)
  local dc, fc = c1.total - c0.total, failures(c1) - failures(c0)
  local db, fb = b1.total - b0.total, failures(b1) - failures(b0)
  local rc, rb = dc > 0 and fc / dc or 0, db > 0 and fb / db or 0
  if fc > 0 and rc > rb + s.max_failure_rate then
    return R.fail("analysis", "the route saw %d of %d connection(s) to the canary fail (%.1f%%), "
      .. "against %d of %d to the old container (%.1f%%)", fc, dc, rc * 100, fb, db, rb * 100)
  end
  return true
end

-- A step no connection reached: --probes synthetic probes straight to the
-- canary's address; every one must pass.
local function probe(u, s, address)
  local host, port = address:match("^(.*):(%d+)$")
  local url = s.probe or s.health
  local one
  if url then
    if url:match("^/") then url = "http://" .. address .. url end
    url = url:gsub("{host}", host):gsub("{port}", port)
    local expect = not s.probe and s.expect or nil -- --expect goes with --health
    one = function() return health.http(url, { status = 0, expect = expect }) end
  else
    one = function() return health.tcp(address) end
  end
  local failed, first = 0, nil
  for n = 1, s.probes do
    local ok, err = one()
    if not ok then
      failed = failed + 1
      first = first or err
    end
    if n < s.probes then time.sleep(0.1) end
  end
  if failed > 0 then
    return R.fail("probe", "no connection reached the canary and %d of %d synthetic probe(s) failed: %s",
      failed, s.probes, tostring(first))
  end
  log.info("no connection reached the canary: synthetic probes passed", { container = u.new_name,
    probes = s.probes, target = url or address })
  return true
end

-- The site checks, at the end of a step.
local function run_checks(ctx)
  for _, chk in ipairs(checks) do
    local ok, good, why = pcall(chk.fn, ctx)
    if not ok then return R.fail("check", "site check %s raised an error: %s", chk.path, tostring(good)) end
    if not good then return R.fail("check", "site check %s: %s", chk.path, tostring(why or "it said no")) end
  end
  return true
end

-- The steps: the canary's share grows; each step is watched (R.watch: its health
-- and --health, and `compare`) for --step-duration, then probed when quiet, then
-- checked. `a` keeps the counters at the start for the figures.
local function run_steps(u, s, a)
  local ok, err = route.add(u.route, u.new_name, { weight = 0, admin = s.admin })
  if not ok then return nil, err end
  a.c0, a.b0 = counters(u, s)
  if not a.c0 then return nil, a.b0 end
  for i, pct in ipairs(steps) do
    local share = math.max(1, math.floor(u.old_weight * pct / 100 + 0.5))
    local weights = { [u.name] = u.old_weight - share, [u.new_name] = share }
    assert(R.step(u, "weight", { percent = pct, weights = weights }))
    u.switched = true
    ok, err = route.weight(u.route, weights, { admin = s.admin })
    if not ok then return nil, err end
    local c0, b0 = counters(u, s)
    if not c0 then return nil, b0 end
    ok, err = R.watch(u, s.step_duration, s, "during the step", function()
      local c1, b1 = counters(u, s)
      if not c1 then return nil, b1 end
      return compare(s, c0, b0, c1, b1)
    end)
    local c1, b1 = counters(u, s)
    if ok and not c1 then ok, err = nil, b1 end
    if ok then ok, err = compare(s, c0, b0, c1, b1) end -- (the counters the step is judged on)
    if ok and c1.total == c0.total then ok, err = probe(u, s, c1.address) end
    if ok then
      ok, err = run_checks {
        step = i, percent = pct, steps = steps, seconds = s.step_duration, route = u.route,
        name = u.name, image = u.image, weights = { canary = share, baseline = u.old_weight - share },
        canary = setmetatable({ id = u.new_id, connections = c1.total - c0.total,
          failed = failures(c1) - failures(c0) }, { __index = c1 }),
        baseline = setmetatable({ id = u.old_id, connections = b1.total - b0.total,
          failed = failures(b1) - failures(b0) }, { __index = b1 }),
      }
    end
    if not ok then
      local now_c, now_b = counters(u, s)
      return R.fail(err.code or "analysis", "canary step %d (%d%%): %s%s", i, pct, tostring(err),
        now_c and ("; " .. figures(a.c0, a.b0, now_c, now_b)) or "")
    end
    log.info("canary step passed", { container = u.name, step = i, percent = pct,
      connections = c1.total - c0.total, failed = failures(c1) - failures(c0) })
    a.c1, a.b1 = c1, b1
  end
  return true
end

-- The canary of one container: the rolling phases, with the steps in place of the
-- switch and monitor.
local function canary(c, s)
  local name = c.Name:gsub("^/", "")
  if not (s.route or R.find_route(name, s.admin)) then
    return { name = name, outcome = "failed", reason = "no route serves " .. name .. ": a canary needs one" }
  end
  local u = R.prepare(c, s)
  u.order = "start-first"
  if engine.dry_run then
    local lines = { string.format("analysis of each step for %g s: health, connect failures and resets "
      .. "against %s's (+%g), %d synthetic probe(s) when no connection arrives%s", s.step_duration, u.name,
      s.max_failure_rate, s.probes, #checks > 0 and (", site checks " .. table.concat(opts.check, ", ")) or "") }
    for i, pct in ipairs(steps) do
      lines[#lines + 1] = string.format("step %d: route %s gives %d%% of %s's new connections to %s",
        i, u.route, pct, u.name, u.new_name)
    end
    return R.plan(u, s, lines)
  end
  local todo, res = R.fetch(u, s)
  if not todo then return res end
  local old = R.backend(u.route, u.name, s)
  u.old_weight = old and old.weight > 0 and math.tointeger(old.weight) or 100
  local a = {}
  local ok, err = R.phase(R.begin, u, s, { kind = "canary", steps = json.array(steps), old_weight = u.old_weight })
  if ok then ok, err = R.phase(R.start_new, u, s) end
  if ok then ok, err = R.phase(run_steps, u, s, a) end
  -- An abort always undoes (a Compose failure_action pause or continue is for the
  -- containers after the canary).
  if not ok then
    local r = R.failed(u, R.undoing(s), err)
    if R.interrupted(err) then -- (undone: said, then the interrupt goes on up)
      R.say(r)
      error(err, 0)
    end
    return r
  end
  local summary = {
    connections = a.c1.total - a.c0.total, failed = failures(a.c1) - failures(a.c0),
    old_connections = a.b1.total - a.b0.total, old_failed = failures(a.b1) - failures(a.b0),
  }
  local r = R.promote(u, s, { canary = summary })
  r.canary = summary
  if r.outcome == "updated" then r.note = figures(a.c0, a.b0, a.c1, a.b1) end
  return r
end

-- In each group the first target that has something to update is the canary; once
-- it is promoted, the others go the rolling way. After an abort they are skipped
-- (whatever the group's failure action).
local canaries = {} -- group settings -> the canary's result
local results, failed = R.run_groups(groups, function(c, s)
  local first = canaries[s]
  -- (under --dry-run the others are planned the rolling way, as they would go)
  if first and (first.outcome == "updated" or first.outcome == "planned") then return R.update(c, s) end
  if first then
    return { name = (c.Name:gsub("^/", "")), outcome = "skipped",
      reason = "the canary " .. first.name .. " did not pass" }
  end
  local r = canary(c, s)
  if r.outcome ~= "up to date" then canaries[s] = r end
  return r
end)
R.report(results, opts)
if failed > 0 then return 1 end
