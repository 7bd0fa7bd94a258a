--- claw.rollout: the steps of an update, shared by policies/rolling.lua, the
-- rollback and recover commands, and site policies. Each step that changes
-- something is journaled first (claw.journal), so an interrupted update can be
-- finished or undone.
--
-- An update `u` is a table:
--   name       the container's name (what users know it by)
--   old_id     the container running before the update (found by ID across renames)
--   new_id     the new container, once created; new_name its temporary name
--   image      the reference updated to; old_image, new_image the image IDs
--   route      the daemon's route serving it, or nil (stop-first)
--   backups    { { path =, id =, sha256 =, kind = "file"|"dir"|"volume" }, ... }
--   journal    the journal file's path
local docker = require "claw.docker"
local backup = require "claw.backup"
local health = require "claw.health"
local journal = require "claw.journal"
local json = require "claw.json"
local log = require "claw.log"
local route = require "claw.route"
local time = require "claw.time"

local R = {}

R.PREVIOUS = "-previous" -- the old container, kept stopped for `clawengine rollback`
R.NEXT = "-next"         -- the new container while it is being tried

local function fail(code, fmt, ...)
  return nil, setmetatable({ code = code, message = string.format(fmt, ...) },
    { __tostring = function(e) return e.message end })
end
R.fail = fail

--- "openclaw/gateway" out of "openclaw/gateway:2026.9.6" or "...@sha256:...".
function R.repository(ref)
  local repo = ref:gsub("@.*$", "")
  local last = repo:match("[^/]+$")
  if last:find(":") then repo = repo:sub(1, #repo - #last) .. last:gsub(":.*$", "") end
  return repo
end

--- Journal: a new file for this attempt, and a writer for its steps.
function R.journal_open(u)
  local stamp = time.format(time.now(), "%Y%m%dT%H%M%SZ", { utc = true })
  u.journal = string.format("%s/%s-%s.journal", journal.dir(), stamp, u.name)
  u.started = time.now()
  u.timeline = {}
  -- Held while this process runs: recover leaves a live update alone.
  os.execute("mkdir -p '" .. journal.dir() .. "'")
  u.lock = assert(journal.lock(u.journal))
end

--- Writes a step before it is carried out. Fails the update when the journal
-- cannot be written: changing containers without a record is not allowed.
function R.step(u, name, fields)
  local rec = { step = name, time = time.now() }
  for k, v in pairs(fields or {}) do rec[k] = v end
  u.timeline[#u.timeline + 1] = { step = name, time = rec.time }
  local ok, err = journal.append(u.journal, rec)
  if ok and name ~= "end" then -- progress, one line per step (JSON events with --json)
    log.info(name, { container = u.name, elapsed = string.format("%.2fs", rec.time - (u.started or rec.time)) })
  end
  return ok, err
end

--- Connection failures and resets the route saw to a backend (nil without a route).
function R.route_failures(rname, backend, opts)
  local routes = rname and route.list { admin = opts.admin }
  for _, r in ipairs(routes or {}) do
    if r.name == rname then
      for _, b in ipairs(r.backends) do
        if b.container == backend then return b.connect_failures + b.resets end
      end
    end
  end
end

function R.finish(u, outcome, fields)
  local rec = { outcome = outcome, duration = time.now() - (u.started or time.now()) }
  for k, v in pairs(fields or {}) do rec[k] = v end
  return R.step(u, "end", rec)
end

--- Moves `from`'s share of new connections on route `rname` to `to` (added first
-- when the route does not have it). With one backend this is a switch; with
-- replicas on one route the other backends keep their shares.
function R.route_move(rname, from, to, opts)
  local o = { admin = opts.admin }
  local routes, err = route.list(o)
  if not routes then return nil, err end
  local weight, has_to = 100, false
  for _, r in ipairs(routes) do
    if r.name == rname then
      for _, b in ipairs(r.backends) do
        if b.container == from and b.weight > 0 then weight = b.weight end
        if b.container == to then has_to = true end
      end
    end
  end
  if not has_to then
    local ok, aerr = route.add(rname, to, { weight = 0, admin = opts.admin })
    if not ok then return nil, aerr end
  end
  local weights = { [to] = weight }
  if from ~= to then weights[from] = 0 end
  return route.weight(rname, weights, o)
end

--- Has route `rname` a backend named `backend`?
function R.route_has(rname, backend, opts)
  for _, r in ipairs(route.list { admin = opts.admin } or {}) do
    if r.name == rname then
      for _, b in ipairs(r.backends) do
        if b.container == backend then return true end
      end
    end
  end
  return false
end

--- The route of the daemon that serves container `name`, if a daemon runs.
function R.find_route(name, admin)
  local routes = route.list { admin = admin }
  if not routes then return nil end
  for _, r in ipairs(routes) do
    for _, b in ipairs(r.backends) do
      if b.container == name and b.state ~= "draining" then return r.name end
    end
  end
end

--- Host ports the container publishes: a start-first update cannot run two of it.
function R.published_ports(c)
  local out = {}
  for port, binds in pairs(c.HostConfig.PortBindings or {}) do
    if type(binds) == "table" and #binds > 0 then out[#out + 1] = port end
  end
  table.sort(out)
  return out
end

--- Backs up every path and volume; records them in u.backups.
function R.backup_all(u, paths, volumes)
  u.backups = u.backups or {}
  for _, p in ipairs(paths or {}) do
    local b, err = backup.save(p)
    if not b then return nil, err end
    u.backups[#u.backups + 1] = { path = p, id = b.id, sha256 = b.sha256, kind = b.kind or "file" }
  end
  for _, v in ipairs(volumes or {}) do
    local b, err = backup.save_volume(v)
    if not b then return nil, err end
    u.backups[#u.backups + 1] = { path = v, id = b.id, sha256 = b.sha256, kind = "volume" }
  end
  return true
end

local function restore_one(b)
  local ok, err
  if b.kind == "volume" then
    ok, err = backup.restore_volume(b.path, { which = b.id })
  else
    ok, err = backup.restore(b.path, { which = b.id })
  end
  if ok then log.info("restored", { path = b.path, backup = b.id }) end
  return ok, err
end

--- Puts every backup back. Returns the list restored (what the history says).
function R.restore_all(u)
  local restored = json.array()
  for _, b in ipairs(u.backups or {}) do
    local ok, err = restore_one(b)
    if not ok then return nil, err, restored end
    restored[#restored + 1] = b.path
  end
  return restored
end

--- The health gate of a new container: its Docker healthcheck when it has one,
-- and the --health URL when given; the deadline is `timeout` or Docker's own.
function R.health_gate(id, opts)
  local c = assert(docker.inspect(id))
  local hc = c.Config.Healthcheck
  local has_hc = hc and hc.Test and hc.Test[1] ~= "NONE"
  if has_hc then
    local ok, err = docker.wait_healthy(id, { timeout = opts.timeout })
    if not ok then return nil, err end
  end
  if opts.health then
    local url = opts.health
    if url:find("{host}") then
      local filled, err = health.url(url, id, { port = opts.port })
      if not filled then return nil, err end
      url = filled
    end
    local ok, err = health.wait({ http = url, expect = opts.expect },
      { timeout = opts.timeout or 60, interval = 0.1 })
    if not ok then return nil, err end
  elseif not has_hc then
    -- Nothing to go by: the container must at least keep running and accept
    -- connections on its port, when there is one.
    if opts.port then
      local addr, err = health.url("{host}:{port}", id, { port = opts.port })
      if not addr then return nil, err end
      local ok, werr = health.wait({ tcp = addr }, { timeout = opts.timeout or 60 })
      if not ok then return nil, werr end
    end
    local again = assert(docker.inspect(id))
    if not again.State.Running then
      return fail("exited", "container %s exited with code %d", id, again.State.ExitCode)
    end
  end
  return true
end

local function backend_of(routes, route_name, container)
  for _, r in ipairs(routes or {}) do
    if r.name == route_name then
      for _, b in ipairs(r.backends) do
        if b.container == container then return b end
      end
    end
  end
end

--- Watches the new container for `seconds`: its health, the --health probe, and
-- the route's connect failures and resets for it.
function R.monitor(u, seconds, opts)
  if not seconds or seconds <= 0 then return true end
  local deadline = time.monotonic() + seconds
  local base = u.route and backend_of(route.list { admin = opts.admin }, u.route, u.new_name)
  while time.monotonic() < deadline do
    local c, err = docker.inspect(u.new_id)
    if not c then return nil, err end
    if not c.State.Running then
      return fail("exited", "the new container exited with code %d during the monitor window", c.State.ExitCode)
    end
    if c.State.Health and c.State.Health.Status == "unhealthy" then
      local l = c.State.Health.Log
      local out = l and l[#l] and l[#l].Output or ""
      return fail("unhealthy", "the new container turned unhealthy during the monitor window: %s", out)
    end
    if opts.health and not opts.health:find("{host}") then
      local ok, perr = health.http(opts.health, { expect = opts.expect })
      if not ok then return nil, perr end
    end
    if base then
      local now = backend_of(route.list { admin = opts.admin }, u.route, u.new_name)
      if now and (now.connect_failures > base.connect_failures or now.resets > base.resets) then
        return fail("unhealthy", "the route saw %d failed connection(s) and %d reset(s) to the new container",
          now.connect_failures - base.connect_failures, now.resets - base.resets)
      end
    end
    time.sleep(math.min(0.5, math.max(0, deadline - time.monotonic())))
  end
  return true
end

--- Removes a container if it exists (by name or ID); quiet when it does not.
function R.remove_if_exists(name)
  if docker.inspect(name) then
    return docker.remove(name, { force = true })
  end
  return true
end

--- Undo: the old container serves again under its name, with its backups back,
-- and no new container is left. Used on failure, by recover and by rollback.
function R.undo(u, opts)
  local notes = {}
  if u.route and u.switched then
    local ok, err = R.route_move(u.route, u.new_name, u.name, opts)
    notes[#notes + 1] = ok and "route back to the old container" or ("route not switched back: " .. tostring(err))
  end
  if u.new_id or u.new_name then
    R.remove_if_exists(u.new_id or u.new_name)
    if u.route and u.new_name then route.remove(u.route, u.new_name, { admin = opts.admin }) end
  end
  local old = docker.inspect(u.old_id)
  if old and not old.State.Running then
    -- The old version must not start on state the new one migrated.
    local restored, err = R.restore_all(u)
    if not restored then return nil, err end
    u.restored = restored
    local name = old.Name:gsub("^/", "")
    if name ~= u.name then assert(docker.rename(u.old_id, u.name)) end
    local ok, serr = docker.start(u.old_id)
    if not ok then return nil, serr end
  else
    -- A restore replaces a path with a new file or folder; a container that mounts
    -- that very path (or the volume) keeps the replaced one until it restarts. So
    -- the old container restarts after such a restore: briefly down, but on the
    -- state it wrote, not on what the new version left.
    local restart = R.mounts_any(old, u.backups)
    if restart then assert(docker.stop(u.old_id)) end
    local restored, err = R.restore_changed(u)
    if not restored then return nil, err end
    u.restored = restored
    if restart then
      local ok, serr = docker.start(u.old_id)
      if not ok then return nil, serr end
      notes[#notes + 1] = "the old container restarted on its restored state"
    end
  end
  return true, notes
end

--- Does the container mount one of the backed-up paths or volumes itself?
function R.mounts_any(c, backups)
  for _, b in ipairs(backups or {}) do
    for _, m in ipairs(c.Mounts or {}) do
      if (b.kind == "volume" and m.Type == "volume" and m.Name == b.path) or
         (b.kind ~= "volume" and m.Type == "bind" and m.Source == b.path) then
        return true
      end
    end
  end
  return false
end

--- Restores only the backups whose source changed since (the old container kept
-- running: put back only what the new one wrote).
function R.restore_changed(u)
  local restored = json.array()
  for _, b in ipairs(u.backups or {}) do
    -- A file is put back only when it changed; a folder or volume always (its
    -- record's sha256 is that of its manifest, not of one file).
    if not (b.kind == "file" and backup.sha256(b.path) == b.sha256) then
      local ok, err = restore_one(b)
      if not ok then return nil, err end
      restored[#restored + 1] = b.path
    end
  end
  return restored
end

--- Retire: the old container stops (drained first on a route) and is kept as
-- <name>-previous; the new one takes the name. The drain waits for the old
-- backend's open connections to close by themselves (up to --drain-timeout): at
-- the TCP level the daemon cannot tell an idle keep-alive connection from one in the
-- middle of a request, and stopping the old version under a client that is sending
-- would lose that request. Safe to run again after a crash in
-- the middle (recover does): each part looks at what is already done.
function R.retire(u, opts)
  local old_name = u.name .. R.PREVIOUS
  local old = docker.inspect(u.old_id)
  local old_has_name = old and old.Name == "/" .. u.name
  if u.route and old_has_name and old.State.Running then
    local forced, err = route.drain(u.route, u.name, { timeout = opts.drain_timeout, admin = opts.admin })
    if not forced and err.code ~= "not_found" then return nil, err end
  end
  if old and old.State.Running then
    local ok, err = docker.stop(u.old_id)
    if not ok then return nil, err end
  end
  -- Kept, not running: with restart "always" dockerd would start it again at its
  -- own restart, on state the new version migrated. Rollback gives it back the
  -- policy the container it replaces has.
  if old then docker.update(u.old_id, { RestartPolicy = { Name = "no" } }) end
  if u.route and old_has_name then route.remove(u.route, u.name, { admin = opts.admin }) end
  local prev = docker.inspect(old_name)
  if old and prev and prev.Id ~= u.old_id then assert(docker.remove(prev.Id, { force = true })) end
  if old and old.Name ~= "/" .. old_name then assert(docker.rename(u.old_id, old_name)) end
  local cur = assert(docker.inspect(u.new_id))
  if cur.Name ~= "/" .. u.name then assert(docker.rename(u.new_id, u.name)) end
  if u.route and R.route_has(u.route, u.new_name, opts) then
    -- The route names its backend by container name: renamed with the container,
    -- so the connections it carries stay.
    assert(route.rename(u.route, u.new_name, u.name, { admin = opts.admin }))
  end
  return true
end

--- Seconds from a Compose duration: "10s", "1m30s", "500ms", "2h", or a number.
function R.duration(v)
  if v == nil then return nil end
  if type(v) == "number" then return v end
  local total, rest = 0, tostring(v)
  for n, unit in rest:gmatch("([%d%.]+)(%a+)") do
    local mult = ({ h = 3600, m = 60, s = 1, ms = 0.001, us = 1e-6, ns = 1e-9 })[unit]
    if not mult then return nil end
    total = total + tonumber(n) * mult
  end
  if total == 0 and not rest:match("^0") then return tonumber(rest) end
  return total
end

--- The journal of an update of `name` that has not ended (running now, or killed).
function R.pending(name)
  for _, path in ipairs(assert(journal.files(journal.dir()))) do
    local u = R.from_records(path, assert(journal.read(path)))
    if u.name == name and not u.outcome then return path end
  end
end

--- The last completed update of `name`, from the journals.
function R.last_update(name)
  local last
  for _, path in ipairs(assert(journal.files(journal.dir()))) do
    local u = R.from_records(path, assert(journal.read(path)))
    if u.name == name and u.outcome == "updated" then last = u end
  end
  return last
end

--- Back to the version before the last completed update of `name` (see
-- lua/claw/cmd/rollback.lua). Returns { seconds =, restored =, image = }.
function R.rollback(name, opts)
  local last = R.last_update(name)
  if not last then return fail("not_found", "no completed update of %s in the history", name) end
  local current = docker.inspect(name)
  if not current then return fail("not_found", "no container %s", name) end
  if current.Id ~= last.new_id then
    return fail("conflict", "%s is not the container the last update made (it was changed since)", name)
  end
  local t0 = time.monotonic()
  local rb = { name = name, old_id = current.Id, image = "rollback", new_name = name .. R.NEXT,
    route = R.find_route(name, opts.admin), backups = last.backups }
  R.journal_open(rb)
  assert(R.step(rb, "begin", { name = name, kind = "rollback", old_id = current.Id,
    old_image = current.Image, new_image = last.old_image, route = rb.route or json.null,
    new_name = rb.new_name, of = last.journal }))
  for _, b in ipairs(rb.backups) do assert(R.step(rb, "backup", b)) end
  -- The container to go back to: the previous one, or a new one from :rollback.
  local prev = docker.inspect(last.old_id)
  if prev then
    rb.new_id = prev.Id
    if prev.Name ~= "/" .. rb.new_name then assert(docker.rename(prev.Id, rb.new_name)) end
  else
    local spec = assert(docker.clone(current.Id, { image = R.repository(last.image) .. ":rollback",
      name = rb.new_name }))
    rb.new_id = assert(docker.create(spec))
  end
  assert(R.step(rb, "created", { new_id = rb.new_id }))
  assert(docker.update(rb.new_id, { RestartPolicy = current.HostConfig.RestartPolicy }))
  local restored = json.array()
  if #rb.backups > 0 then
    -- The previous version must not start on state the newer one migrated.
    if rb.route then
      assert(route.drain(rb.route, name, { timeout = opts.drain_timeout, admin = opts.admin }))
    end
    assert(docker.stop(current.Id))
    assert(R.step(rb, "restore"))
    restored = assert(R.restore_all(rb))
  end
  assert(docker.start(rb.new_id))
  local ok, err = R.health_gate(rb.new_id, { timeout = opts.timeout })
  if not ok then
    R.finish(rb, "rollback failed", { reason = tostring(err) })
    return nil, err
  end
  if rb.route then
    assert(R.step(rb, "switch"))
    assert(R.route_move(rb.route, name, rb.new_name, opts))
  end
  local serving = time.monotonic() - t0
  assert(R.step(rb, "retire"))
  -- The version rolled back from is kept stopped as NAME-previous, so a second
  -- rollback goes forward again.
  assert(R.retire(rb, opts))
  R.finish(rb, "rolled back", { restored = restored })
  return { seconds = time.monotonic() - t0, serving = serving, restored = restored, image = last.old_image }
end

--- --cleanup: the image the :rollback tag named before this update is no longer
-- the way back; it is removed (with all its tags, as Watchtower's cleanup does)
-- when no container, running or stopped, uses it.
function R.cleanup(image_id, u)
  if image_id == u.old_image or image_id == u.new_image then return end
  for _, c in ipairs(assert(docker.containers { all = true })) do
    if c.ImageID == image_id then
      log.info("cleanup: image still in use, kept", { image = image_id, container = c.Names[1] })
      return
    end
  end
  local ok, err = docker.remove_image(image_id, { force = true })
  if ok then
    log.info("cleanup: removed the image of the previous rollback", { image = image_id })
  else
    log.warn("cleanup: image not removed", { image = image_id, reason = err.message })
  end
end

--- Rebuilds an update from its journal records (for recover and rollback).
function R.from_records(path, records)
  local u = { journal = path, backups = {}, timeline = {} }
  for _, rec in ipairs(records) do
    u.timeline[#u.timeline + 1] = { step = rec.step, time = rec.time }
    if rec.step == "begin" then
      for _, k in ipairs { "name", "old_id", "image", "old_image", "new_image", "route", "order", "new_name" } do
        u[k] = rec[k]
      end
      u.started = rec.time
    elseif rec.step == "backup" then
      u.backups[#u.backups + 1] = { path = rec.path, id = rec.id, sha256 = rec.sha256, kind = rec.kind }
    elseif rec.step == "created" then
      u.new_id = rec.new_id
    elseif rec.step == "switch" then
      u.switched = true
    elseif rec.step == "end" then
      u.outcome = rec.outcome
      u.ended = rec
    end
    u.last = rec.step
  end
  return u
end

return R
