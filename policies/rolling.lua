-- rolling.lua: updates containers to a new image without losing a request.
--
--   clawengine run policies/rolling.lua [OPTIONS] NAME...
--   clawengine run policies/rolling.lua [OPTIONS] --label KEY=VALUE
--   clawengine run policies/rolling.lua [OPTIONS] --compose FILE [SERVICE...]
--
-- For each container: pull; back up (--backup, --backup-volume); tag the running
-- image :rollback; start the new version beside the old one and wait for its health
-- gate; switch the daemon's route to it; monitor; then retire the old one as
-- NAME-previous. Any failure routes back, removes the new container, restores the
-- backups. Without a route the update is stop-first. See docs/rolling.md.
local args = require "claw.args"
local docker = require "claw.docker"
local engine = require "claw.engine"
local json = require "claw.json"
local yaml = require "claw.yaml"
local log = require "claw.log"
local R = require "claw.rollout"
local time = require "claw.time"

local spec = {
  usage = "clawengine run policies/rolling.lua [OPTIONS] NAME... | --label KEY=VALUE | --compose FILE [SERVICE...]",
  description = "Updates containers to a new image, health-gated, with rollback.",
  options = {
    { "image", value = "REF", help = "update to this reference (default: the one the container was created from)" },
    { "label", value = "KEY=VALUE", list = true, help = "update the running containers with this label" },
    { "compose", value = "FILE", help = "update the services of this Compose file (all, or the SERVICEs named)" },
    { "backup", value = "PATH", list = true, help = "a file or folder to snapshot first and restore on rollback" },
    { "backup-volume", value = "NAME", list = true, help = "a named volume to snapshot first and restore on rollback" },
    { "health", value = "URL", help = "an HTTP health gate ({host} and {port} are the new container's)" },
    { "expect", value = "FIELD=VALUE", list = true, help = "a JSON field the health answer must have" },
    { "port", value = "PORT", number = true, help = "the container's port for {port} and TCP gates" },
    { "timeout", value = "SECONDS", number = true, help = "the health deadline (default: the healthcheck's own)" },
    { "monitor", value = "SECONDS", number = true, default = 5, help = "watch the new version this long after the switch" },
    { "order", value = "ORDER", default = "start-first", help = "start-first or stop-first" },
    { "failure-action", value = "ACTION", default = "rollback", help = "rollback, pause or continue" },
    { "drain-timeout", value = "SECONDS", number = true, default = 30, help = "how long open connections may finish" },
    { "route", value = "NAME", help = "the daemon route (default: the one that serves the container)" },
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "no-pull", help = "use the image as it is here" },
    { "cleanup", help = "after success, remove the image the previous :rollback tag named, when no container uses it" },
    { "json", help = "print the result as JSON" },
  },
}
local opts, names = args.parse(arg, spec)
if opts.order ~= "start-first" and opts.order ~= "stop-first" then
  args.fail(spec, "--order must be start-first or stop-first, not %q", opts.order)
end
if not ({ rollback = true, pause = true, continue = true })[opts.failure_action] then
  args.fail(spec, "--failure-action must be rollback, pause or continue, not %q", opts.failure_action)
end
local expect
for _, e in ipairs(opts.expect) do
  local k, v = e:match("^([^=]+)=(.*)$")
  if not k then args.fail(spec, "--expect %q is not FIELD=VALUE", e) end
  expect = expect or {}
  expect[k] = tonumber(v) or (v == "true" and true) or (v == "false" and false) or v
end
opts.expect = expect
if #names == 0 and #opts.label == 0 and not opts.compose then
  args.fail(spec, "no container named (NAME..., --label or --compose)")
end
for _, b in ipairs(opts.backup) do
  local f = io.open(b, "r")
  if not f then args.fail(spec, "--backup %s: cannot be read", b) end
  f:close()
end

-- What applies to a group of targets: the options, or a Compose service's
-- deploy.update_config (Swarm's meanings) over them.
local function settings(over)
  local s = {}
  for k, v in pairs(opts) do s[k] = v end
  s.parallelism, s.delay, s.max_failure_ratio = 0, 0, 0
  for k, v in pairs(over or {}) do s[k] = v end
  return s
end

-- Groups of targets, each with its settings.
local groups = {}
if opts.compose then
  local project, err = yaml.compose(opts.compose)
  if not project then args.fail(spec, "--compose %s: %s", opts.compose, err.message) end
  local wanted = #names > 0 and names or nil
  if not wanted then
    wanted = {}
    for svc in pairs(project.services) do wanted[#wanted + 1] = svc end
    table.sort(wanted)
  end
  for _, svc in ipairs(wanted) do
    local sdef = project.services[svc]
    if not sdef then args.fail(spec, "service %q is not in %s", svc, opts.compose) end
    local uc = type(sdef.deploy) == "table" and type(sdef.deploy.update_config) == "table"
      and sdef.deploy.update_config or {}
    local rc = type(sdef.deploy) == "table" and type(sdef.deploy.rollback_config) == "table"
      and sdef.deploy.rollback_config or {}
    local s = settings {
      image = opts.image or sdef.image,
      parallelism = tonumber(uc.parallelism) or 1,
      delay = R.duration(uc.delay) or 0,
      failure_action = uc.failure_action or opts.failure_action,
      monitor = R.duration(uc.monitor) or opts.monitor,
      max_failure_ratio = tonumber(uc.max_failure_ratio) or 0,
      order = uc.order or opts.order,
      rollback_delay = R.duration(rc.delay) or 0,
    }
    if not ({ rollback = true, pause = true, continue = true })[s.failure_action] then
      args.fail(spec, "%s: services.%s.deploy.update_config.failure_action must be rollback, pause or continue",
        opts.compose, svc)
    end
    local list = assert(docker.containers { label = {
      "com.docker.compose.project=" .. project.name, "com.docker.compose.service=" .. svc } })
    local targets = {}
    for _, c in ipairs(list) do targets[#targets + 1] = assert(docker.inspect(c.Id)) end
    table.sort(targets, function(a, b) return a.Name < b.Name end)
    if #targets == 0 then
      args.fail(spec, "service %q of project %q has no running container", svc, project.name)
    end
    groups[#groups + 1] = { name = svc, targets = targets, s = s }
  end
else
  local targets = {}
  for _, n in ipairs(names) do
    local c, err = docker.inspect(n)
    if not c then args.fail(spec, "no container %q: %s", n, err.message) end
    targets[#targets + 1] = c
  end
  if #opts.label > 0 then
    for _, s in ipairs(assert(docker.containers { label = opts.label })) do
      targets[#targets + 1] = assert(docker.inspect(s.Id))
    end
  end
  groups[1] = { targets = targets, s = settings() }
end

local dry = engine.dry_run
local results = {}

-- Prints the plan (--dry-run) instead of carrying it out.
local function plan(c, u, opts)
  local lines = {
    string.format("plan for %s (%s):", u.name, u.order),
    "  pull " .. u.image,
  }
  for _, b in ipairs(opts.backup) do lines[#lines + 1] = "  back up " .. b end
  for _, v in ipairs(opts.backup_volume) do lines[#lines + 1] = "  back up volume " .. v end
  lines[#lines + 1] = "  tag the running image " .. R.repository(u.image) .. ":rollback"
  if u.order == "stop-first" then
    lines[#lines + 1] = "  stop " .. u.name .. " (kept), create and start " .. u.new_name
  else
    lines[#lines + 1] = "  create and start " .. u.new_name .. " beside " .. u.name
  end
  lines[#lines + 1] = string.format("  health gate (deadline %s)", opts.timeout and (opts.timeout .. " s") or "the healthcheck's own")
  if u.route then
    lines[#lines + 1] = string.format("  switch route %s to %s, monitor %g s", u.route, u.new_name, opts.monitor)
  end
  lines[#lines + 1] = string.format("  retire %s as %s%s, rename %s to %s", u.name, u.name, R.PREVIOUS, u.new_name, u.name)
  lines[#lines + 1] = "  on failure: " .. (u.route and "route back, " or "start the old one again, ")
    .. "remove " .. u.new_name .. ", restore the backups"
  io.write(table.concat(lines, "\n"), "\n")
  return { name = u.name, outcome = "planned" }
end

local function crash_point(step)
  -- For the recovery tests: die like kill -9 right after journaling `step`.
  if os.getenv("CLAWENGINE_TEST_CRASH_AFTER") == step then
    local f = io.open("/proc/self/stat")
    local pid = f:read("n")
    f:close()
    os.execute("kill -9 " .. pid)
  end
end

local function step(u, name, fields)
  assert(R.step(u, name, fields))
  crash_point(name)
end

local function update_one(c, opts)
  local name = c.Name:gsub("^/", "")
  local u = {
    name = name, old_id = c.Id, image = opts.image or c.Config.Image, old_image = c.Image,
    new_name = name .. R.NEXT, order = opts.order,
  }
  u.route = opts.route or R.find_route(name, opts.admin)
  if u.order == "start-first" and not u.route then
    local ports = R.published_ports(c)
    log.warn(string.format("%s has no route%s: updating stop-first (requests fail while it restarts); "
      .. "`clawengine adopt %s --route NAME --listen ADDR` puts it behind the traffic switch",
      name, #ports > 0 and (" and publishes " .. table.concat(ports, ", ") .. " itself") or "", name))
    u.order = "stop-first"
  end
  if dry then return plan(c, u, opts) end
  local pending = R.pending(name)
  if pending then
    return { name = name, outcome = "failed", reason = "an update of " .. name
      .. " is under way or was interrupted (" .. pending .. "); run clawengine recover" }
  end

  -- 1. the new image
  if not opts.no_pull then
    local pulled, err = docker.pull(u.image)
    if not pulled then return { name = name, outcome = "failed", reason = err.message } end
  end
  local img, err = docker.image(u.image)
  if not img then return { name = name, outcome = "failed", reason = err.message } end
  u.new_image = img.Id
  if u.new_image == u.old_image then
    log.info("up to date", { container = name, image = u.image })
    return { name = name, outcome = "up to date" }
  end

  R.journal_open(u)
  step(u, "begin", { name = name, old_id = u.old_id, image = u.image, old_image = u.old_image,
    new_image = u.new_image, route = u.route or json.null, order = u.order, new_name = u.new_name })

  local function failed(reason)
    log.error("update failed", { container = name, reason = tostring(reason) })
    if opts.failure_action == "pause" then
      R.finish(u, "paused", { reason = tostring(reason) })
      return { name = name, outcome = "paused", reason = tostring(reason) }
    end
    local ok, uerr = R.undo(u, opts)
    R.finish(u, ok and "rolled back" or "rollback failed", { reason = tostring(reason),
      restored = u.restored or json.array(), rollback_error = not ok and tostring(uerr) or nil })
    return { name = name, outcome = ok and "rolled back" or "rollback failed", reason = tostring(reason),
      restored = u.restored }
  end

  -- 2. backups, before anything changes
  step(u, "backup-start")
  local ok, berr = R.backup_all(u, opts.backup, opts.backup_volume)
  if not ok then return failed(berr) end
  for _, b in ipairs(u.backups) do step(u, "backup", b) end
  -- 3. the running image stays reachable without a registry
  step(u, "tag")
  local prev_rollback = docker.image(R.repository(u.image) .. ":rollback")
  docker.tag(u.old_image, R.repository(u.image) .. ":rollback")

  -- 4. the new container
  R.remove_if_exists(u.new_name)
  local spec_new, serr = docker.clone(u.old_id, { image = u.image, name = u.new_name })
  if not spec_new then return failed(serr) end
  local t_stop
  if u.order == "stop-first" then
    step(u, "stop-old")
    t_stop = time.monotonic()
    local sok, stop_err = docker.stop(u.old_id)
    if not sok then return failed(stop_err) end
  end
  step(u, "create")
  local new_id, cerr = docker.create(spec_new)
  if not new_id then return failed(cerr) end
  u.new_id = new_id
  step(u, "created", { new_id = new_id })
  local sok, start_err = docker.start(new_id)
  if not sok then return failed(start_err) end
  local t0 = time.monotonic()
  local hok, herr = R.health_gate(new_id, opts)
  if not hok then return failed(herr) end
  local ready = time.monotonic() - t0
  step(u, "healthy", { seconds = ready })
  local gap = t_stop and (time.monotonic() - t_stop) or nil

  -- 5. switch and watch
  if u.route then
    step(u, "switch")
    u.switched = true
    local swok, swerr = R.route_move(u.route, u.name, u.new_name, opts)
    if not swok then return failed(swerr) end
  end
  local mok, merr = R.monitor(u, opts.monitor, opts)
  if not mok then return failed(merr) end

  -- 6. retire the old one
  local route_failures = R.route_failures(u.route, u.new_name, opts)
  step(u, "retire")
  local rok, rerr = R.retire(u, opts)
  if not rok then return failed(rerr) end
  docker.tag(u.new_image, R.repository(u.image) .. ":stable")
  if opts.cleanup and prev_rollback then R.cleanup(prev_rollback.Id, u) end
  R.finish(u, "updated", { seconds_to_healthy = ready, gap = gap or json.null,
    route_failures = route_failures or json.null })
  log.info("updated", { container = name, image = u.image, healthy_after = string.format("%.2fs", ready),
    gap = gap and string.format("%.2fs", gap) or nil })
  if gap then
    io.stderr:write(string.format("%s: stop-first gap %.2f s (requests failed meanwhile)\n", name, gap))
  end
  return { name = name, outcome = "updated", image = u.image, seconds_to_healthy = ready, gap = gap }
end

-- A group updates in batches of `parallelism` (0: all in one), `delay` apart. The
-- failure action fires when failed / tried exceeds max_failure_ratio: rollback
-- also takes back the targets of the group already updated.
local failures = 0
local function run_group(g)
  local s, updated, failed, done = g.s, 0, 0, {}
  for i, c in ipairs(g.targets) do
    if i > 1 and s.parallelism > 0 and (i - 1) % s.parallelism == 0 and s.delay > 0 and not dry then
      time.sleep(s.delay)
    end
    local r = update_one(c, s)
    results[#results + 1] = r
    if r.outcome == "updated" then
      updated = updated + 1
      done[#done + 1] = r.name
    elseif r.outcome ~= "up to date" and r.outcome ~= "planned" then
      failed = failed + 1
      failures = failures + 1
      if failed / (updated + failed) > s.max_failure_ratio then
        if s.failure_action == "rollback" then
          for j = #done, 1, -1 do
            if j < #done and s.rollback_delay and s.rollback_delay > 0 then time.sleep(s.rollback_delay) end
            local rb, err = R.rollback(done[j], s)
            results[#results + 1] = { name = done[j], outcome = rb and "rolled back" or "rollback failed",
              reason = "another target of the same group failed" .. (rb and "" or (": " .. tostring(err))) }
          end
        end
        if s.failure_action ~= "continue" then return false end
      end
    end
  end
  return true
end

for _, g in ipairs(groups) do
  if not run_group(g) then break end
end

if opts.json or engine.json then
  io.write(json.encode(json.array(results)), "\n")
else
  for _, r in ipairs(results) do
    io.write(string.format("%s: %s%s\n", r.name, r.outcome, r.reason and (": " .. r.reason) or ""))
  end
end
if failures > 0 then return 1 end
