--- claw.rollout: the steps of an update, shared by policies/rolling.lua, the
-- rollback and recover commands, and site policies. Each step that changes
-- something is journaled first (claw.journal), so an interrupted update can be
-- finished or undone.
--
-- An update `u` is a table:
--   name       the container's name (what users know it by)
--   old_id     the container running before the update (found by ID across renames)
--   new_id     the new container, once created; new_name its temporary name
--   image      the reference updated to; old_image, new_image the image IDs;
--              old_digest, new_digest their registry digests (nil when built here)
--   route      the daemon's route serving it, or nil (stop-first)
--   backups    { { path =, id =, sha256 =, kind = "file"|"dir"|"volume" }, ... }
--   journal    the journal file's path
local args = require "claw.args"
local backup = require "claw.backup"
local docker = require "claw.docker"
local engine = require "claw.engine"
local health = require "claw.health"
local image = require "claw.image"
local journal = require "claw.journal"
local json = require "claw.json"
local log = require "claw.log"
local notices = require "claw.notices"
local registry = require "claw.registry"
local route = require "claw.route"
local time = require "claw.time"
local yaml = require "claw.yaml"

local R = {}

R.PREVIOUS = "-previous" -- the old container, kept stopped for `clawengine rollback`
R.NEXT = "-next"         -- the new container while it is being tried

local function fail(code, fmt, ...)
  return nil, setmetatable({ code = code, message = string.format(fmt, ...) },
    { __tostring = function(e) return e.message end })
end
R.fail = fail

--- The repository of a reference (claw.image.repository).
R.repository = image.repository

--- Journal: a new file for this attempt, and a writer for its steps.
--- One change of a container at a time: takes the lock of `u.name` (u.name_lock,
-- held until its journal ends: R.finish) when no other process holds it and none
-- of its journals is left pending (recover first).
function R.claim(u)
  if u.name_lock then return true end
  local held = journal.lock(string.format("%s/%s.lock", journal.dir(), u.name))
  local pending = held and R.pending(u.name)
  if not held or pending then
    if held then held:close() end
    if not held then
      return fail("conflict", "an update of %s is under way in another process: wait for it to end", u.name)
    end
    return fail("conflict", "an update of %s is under way or was interrupted (%s); run clawengine recover",
      u.name, pending)
  end
  u.name_lock = held
  return true
end

function R.journal_open(u)
  local claimed, cerr = R.claim(u)
  if not claimed then return nil, cerr end
  -- (milliseconds: an update and a rollback of one container may start in one second)
  local now = time.now()
  local stamp = time.format(now, "%Y%m%dT%H%M%S", { utc = true }) .. string.format(".%03dZ",
    math.floor(now % 1 * 1000))
  local path = string.format("%s/%s-%s.journal", journal.dir(), stamp, u.name)
  -- Held while this process runs: recover leaves a live update alone.
  u.lock = assert(journal.lock(path))
  u.journal, u.started, u.timeline = path, now, {}
  return true
end

-- For the recovery tests: die like kill -9 right after journaling a step named
-- $CLAWENGINE_TEST_CRASH_AFTER (or "STEP@PERCENT" for a canary's weight step); or
-- raise an error there, as a bug would, with $CLAWENGINE_TEST_RAISE_AFTER (the same names).
local function crash_point(name, fields)
  local function wanted(var)
    local want = os.getenv(var)
    return want and (want == name or (fields and fields.percent and want == name .. "@" .. fields.percent)) and want
  end
  local raise = wanted("CLAWENGINE_TEST_RAISE_AFTER")
  if raise then error("test: raised after " .. raise, 0) end
  if wanted("CLAWENGINE_TEST_CRASH_AFTER") then
    local f = io.open("/proc/self/stat")
    local pid = f:read("n")
    f:close()
    os.execute("kill -9 " .. pid)
  end
end

--- Writes a step before it is carried out. Fails the update when the journal
-- cannot be written: changing containers without a record is not allowed.
function R.step(u, name, fields)
  local rec = { step = name, time = time.now() }
  for k, v in pairs(fields or {}) do rec[k] = v end
  u.timeline[#u.timeline + 1] = { step = name, time = rec.time }
  local ok, err = journal.append(u.journal, rec)
  if ok and name ~= "end" then -- progress, one line per step (JSON events with --json)
    log.info(name, { container = u.name, elapsed = string.format("%.2fs", rec.time - (u.started or rec.time)),
      percent = fields and fields.percent })
    crash_point(name, fields)
  end
  return ok, err
end

--- The backends of route `rname` by container name, with their counters, from one
-- listing (so that counters compared with each other are of the same moment).
function R.backends(rname, opts)
  local routes, err = route.list { admin = opts.admin }
  if not routes then return nil, err end
  local found = {}
  for _, r in ipairs(routes) do
    if r.name == rname then
      for _, b in ipairs(r.backends) do found[b.container] = b end
    end
  end
  return found
end

--- The backend `container` of route `rname`, with its counters (nil when absent).
function R.backend(rname, container, opts)
  local found, err = R.backends(rname, opts)
  if not found then return nil, err end
  return found[container]
end

--- Connection failures and resets the route saw to a backend (nil without a route).
function R.route_failures(rname, backend, opts)
  local b = rname and R.backend(rname, backend, opts)
  return b and (b.connect_failures + b.resets) or nil
end

function R.finish(u, outcome, fields)
  local rec = { outcome = outcome, duration = time.now() - (u.started or time.now()) }
  for k, v in pairs(fields or {}) do rec[k] = v end
  local ok, err = R.step(u, "end", rec)
  if u.name_lock then -- (the next change of the container may begin)
    u.name_lock:close()
    u.name_lock = nil
  end
  return ok, err
end

--- Moves `from`'s share of new connections on route `rname` to `to` (added first
-- when the route does not have it); `share` (default 100) when `from` has none now. With one backend this is a switch; with
-- replicas on one route the other backends keep their shares.
function R.route_move(rname, from, to, opts, share)
  local o = { admin = opts.admin }
  local routes, err = route.list(o)
  if not routes then return nil, err end
  local weight, has_to = share or 100, false
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
  return R.backend(rname, backend, opts) ~= nil
end

--- The routes of the daemon that serve container `name` (their names, sorted;
-- none when no daemon runs: no admin socket). nil and the error when one may run
-- but does not answer (its socket is there: a daemon that crashed, or is busy).
function R.routes_of(name, admin)
  local routes, err = route.list { admin = admin }
  if not routes then
    if err.code == "unreachable" and err.message:find("No such file or directory", 1, true) then return {} end
    return nil, err
  end
  local found = {}
  for _, r in ipairs(routes) do
    for _, b in ipairs(r.backends) do
      if b.container == name and b.state ~= "draining" then found[#found + 1] = r.name end
    end
  end
  table.sort(found)
  return found
end

--- The route of the daemon that serves container `name`, if a daemon runs.
function R.find_route(name, admin)
  return (R.routes_of(name, admin) or {})[1]
end

--- Refuses targets (usage error, before anything changes) an update could not
-- carry over on the daemon: one served by several routes (an update moves one; the
-- others would keep the old container's address), or not by the --route given.
local function check_routes(spec, opts, targets)
  for _, c in ipairs(targets) do
    local name = c.Name:gsub("^/", "")
    local routes, err = R.routes_of(name, opts.admin)
    -- (rather than update a container stop-first that a daemon gone silent served)
    if not routes then R.refuse(spec, err, "%s", err.message) end
    if #routes > 1 then
      args.fail(spec, "%s is served by the routes %s: an update moves one route only (take it out of the "
        .. "others first: clawengine route remove ROUTE %s)", name, table.concat(routes, ", "), name)
    end
    if opts.route and routes[1] ~= opts.route then
      args.fail(spec, "route %q does not serve %s%s", opts.route, name,
        routes[1] and (" (route " .. routes[1] .. " does)") or "")
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

--- Backs up every path and volume; records them in u.backups. A file's
-- FILE.pre-update copy is the state before an update: a rollback's snapshots
-- (u.kind "rollback") leave it as it is.
function R.backup_all(u, paths, volumes)
  u.backups = u.backups or {}
  for _, p in ipairs(paths or {}) do
    local b, err = backup.save(p, { pre_update = u.kind ~= "rollback" })
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

--- One look at the container an update watches (u.new_id; u.what names it in
-- messages, "the new container" by default): it must run, not be unhealthy, and
-- pass the --health probe (sent to its own address when the URL has {host}).
-- `during` ends the messages ("during the monitor window").
function R.observe(u, opts, during)
  local c, err = docker.inspect(u.new_id)
  if not c then return nil, err end
  if not c.State.Running then
    return fail("exited", "%s exited with code %d %s", u.what or "the new container", c.State.ExitCode, during)
  end
  if c.State.Health and c.State.Health.Status == "unhealthy" then
    local l = c.State.Health.Log
    local out = l and l[#l] and l[#l].Output or ""
    return fail("unhealthy", "%s turned unhealthy %s: %s", u.what or "the new container", during,
      (out:gsub("%s+$", "")))
  end
  if opts.health then
    local url = opts.health
    if url:find("{host}") then
      u.health_url = u.health_url or health.url(url, u.new_id, { port = opts.port })
      url = u.health_url
    end
    if url then
      local ok, perr = health.http(url, { expect = opts.expect })
      if not ok then return nil, perr end
    end
  end
  return true
end

--- Watches the new container for `seconds`, every half second: R.observe, then
-- `look()` when given (a policy's own test, e.g. the route's counters); the first
-- failure ends the watch with nil, err.
function R.watch(u, seconds, opts, during, look)
  local err = R.watch_all({ u }, seconds, opts, during, { look })[1]
  if err then return nil, err end
  return true
end

--- R.watch of several updates at once (a batch), `looks[k]` the test of `us[k]`:
-- returns the error of each that failed, by its place in `us` (the others nil).
function R.watch_all(us, seconds, opts, during, looks)
  local errs = {}
  local deadline = time.monotonic() + (seconds or 0)
  while true do -- (a look at the start, every 0.5 s, and one at the deadline)
    local watching = 0
    for k, u in ipairs(us) do
      if not errs[k] then
        local ok, err = R.observe(u, opts, during)
        if ok and looks[k] then ok, err = looks[k]() end
        if ok then watching = watching + 1 else errs[k] = err end
      end
    end
    local left = deadline - time.monotonic()
    if watching == 0 or left <= 0 then break end
    time.sleep(math.min(0.5, left))
  end
  return errs
end

--- Watches the new container for `seconds` after the switch: R.observe, and the
-- route must see no connect failure or reset to it.
function R.monitor(u, seconds, opts)
  local err = R.monitor_all({ u }, seconds, opts)[1]
  if err then return nil, err end
  return true
end

--- R.monitor of several updates at once (a batch): returns the error of each that
-- failed, by its place in `us` (the others are nil).
function R.monitor_all(us, seconds, opts, during)
  if not seconds or seconds <= 0 then return {} end
  local looks = {}
  for k, u in ipairs(us) do
    local base = u.route and R.backend(u.route, u.new_name, opts)
    looks[k] = function()
      local now = base and R.backend(u.route, u.new_name, opts)
      if now and (now.connect_failures > base.connect_failures or now.resets > base.resets) then
        return fail("unhealthy", "the route saw %d failed connection(s) and %d reset(s) to %s",
          now.connect_failures - base.connect_failures, now.resets - base.resets, u.what or "the new container")
      end
      return true
    end
  end
  return R.watch_all(us, seconds, opts, during or "during the monitor window", looks)
end

--- Removes a container if it exists (by name or ID); quiet when it does not.
function R.remove_if_exists(name)
  if docker.inspect(name) then
    return docker.remove(name, { force = true })
  end
  return true
end

--- After a switch, new connections go to the old container again (a canary's old
-- container gets back the share it had, the canary none). Adds what happened to
-- `notes`; returns whether the route has the new container as a backend.
function R.route_back(u, opts, notes)
  local has_new = u.route and u.switched and R.route_has(u.route, u.new_name, opts)
  if u.route and u.switched then
    local ok, err
    if u.old_weight then
      local weights = { [u.name] = u.old_weight }
      if has_new then weights[u.new_name] = 0 end
      ok, err = route.weight(u.route, weights, { admin = opts.admin })
    else
      ok, err = R.route_move(u.route, u.new_name, u.name, opts)
    end
    -- a drain of the old one cut short (a retire that failed) ends: added again, it
    -- serves again
    local b = ok and R.backend(u.route, u.name, opts)
    if b and b.state == "draining" then ok, err = route.add(u.route, u.name, { admin = opts.admin }) end
    notes[#notes + 1] = ok and "route back to the old container" or ("route not switched back: " .. tostring(err))
  end
  return has_new
end

--- Undo: the old container serves again under its name, with its backups back,
-- and no new container is left. Used on failure, by recover and by rollback.
function R.undo(u, opts, keep_new)
  if u.kind == "rollback" then return R.undo_rollback(u, opts) end
  local ran, ok, notes = pcall(R.undo_steps, u, opts, keep_new)
  -- the update's own pause ends, whoever took it (its stop-first, the undo)
  if u.route then R.unhold(u, opts) end
  if not ran then
    if R.interrupted(ok) then error(ok, 0) end -- (the journal has no end: recover goes on)
    return nil, ok
  end
  return ok, notes
end

function R.undo_steps(u, opts, keep_new)
  local notes = {}
  local old = docker.inspect(u.old_id)
  if not old then
    -- nothing to go back to: the new container, if any, is left serving
    return fail("not_found", "the old container %s is gone; %s is left as it is", u.old_id, u.new_name)
  end
  if u.stop_old and old.State.Running then
    -- a stop-first stop cut short (an interrupt, a crash) may still be under way:
    -- it ends now, and the old version starts again as from cold
    if docker.stop(u.old_id) then old = docker.inspect(u.old_id) or old end
  end
  -- The old version starts (again) on its restored state: meanwhile the route holds
  -- new connections (or its other backends take them), rather than send them to a
  -- stopped container or to the old version on state the new one migrated.
  local cold = not old.State.Running
  -- (no new container was made: nothing ran on the state, none of it goes back)
  local keep_state = not u.new_id
  local restart = not cold and not keep_state and R.mounts_any(old, u.backups)
  if u.route and (cold or restart) then R.hold(u, opts) end
  local has_new = R.route_back(u, opts, notes)
  local share -- (the old one's share, given back once it serves again: it may have another address)
  if u.route and (cold or restart or u.stop_old) then
    local b = R.backend(u.route, u.name, opts)
    share = b and b.weight > 0 and math.tointeger(b.weight) or u.share
    if b and b.weight > 0 then route.weight(u.route, { [u.name] = 0 }, { admin = opts.admin }) end
  end
  if has_new then
    -- Requests in flight on the new container finish before it goes (briefly:
    -- an idle keep-alive connection is closed at the deadline).
    route.drain(u.route, u.new_name, { timeout = math.min(opts.drain_timeout or 5, 5), admin = opts.admin })
  end
  if u.route and u.new_name then route.remove(u.route, u.new_name, { admin = opts.admin }) end
  if keep_new and u.new_id then
    -- (failure action pause: kept, stopped, for a look; the next run replaces it)
    local ok, err = docker.stop(u.new_id)
    if not ok then return nil, err end
    notes[#notes + 1] = u.new_name .. " kept, stopped"
  elseif u.new_id or u.new_name then
    R.remove_if_exists(u.new_id or u.new_name)
  end
  local ran, ok, err = pcall(R.restore_old, u, old, { cold = cold, restart = restart, keep_state = keep_state },
    opts, notes)
  if share then
    local added, aerr = route.add(u.route, u.name, { weight = share, admin = opts.admin })
    if not added then notes[#notes + 1] = "not back on route " .. u.route .. ": " .. tostring(aerr) end
  end
  if not ran then error(ok, 0) end
  if not ok then return nil, err end
  return true, notes
end

--- Pauses the route of update `u` for as long as an old version may take to start
-- and pass its health gate, unless another backend of the route serves; returns
-- whether it did (a daemon without pause serves on). The pause is the update's own
-- (R.holder): R.unhold ends it, and only it.
function R.hold(u, opts)
  -- Replicas on the route serve meanwhile: no pause then.
  local backends = R.backends(u.route, opts)
  for name, b in pairs(backends or {}) do
    if name ~= u.name and name ~= u.new_name and b.weight > 0 and b.state ~= "draining" then return false end
  end
  -- (a drain, a stop, a restore, a start and a health gate; resumed when they end)
  local seconds = math.min(86400, (opts.drain_timeout or 30) + (opts.timeout or 60) + 120)
  local ok, err = route.pause(u.route, { timeout = seconds, holder = R.holder(u), admin = opts.admin })
  if not ok then log.warn("route not paused", { route = u.route, reason = tostring(err) }) end
  return ok
end

--- Ends the pause update `u` holds on its route, if any (also one an interrupted run
-- of it left: recover); other holders' pauses stay.
function R.unhold(u, opts)
  if u.route then route.resume(u.route, { holder = R.holder(u), admin = opts.admin }) end
end

--- The name update `u` holds pauses by: its journal file's name.
function R.holder(u)
  return (u.journal:match("[^/]+$")):sub(1, 127)
end

--- The old container on the state it had: the backups go back before it starts
-- (how.cold: it was stopped) or restarts (how.restart: it mounts a path or volume
-- that was restored, and keeps the replaced one until it restarts); then its health
-- gate. how.keep_state: no backup goes back (no new container ran on the state).
function R.restore_old(u, old, how, opts, notes)
  local function restore(f)
    if how.keep_state then return true end
    local restored, err = f(u)
    if not restored then return nil, err end
    u.restored = restored
    return true
  end
  if how.cold then
    local ok, err = restore(R.restore_all)
    if not ok then return nil, err end
    local name = old.Name:gsub("^/", "")
    if name ~= u.name then
      local rok, rerr = docker.rename(u.old_id, u.name)
      if not rok then return nil, rerr end
    end
  else
    if how.restart then
      local ok, serr = docker.stop(u.old_id)
      if not ok then return nil, serr end
    end
    local ok, err = restore(R.restore_changed)
    if not ok then return nil, err end
  end
  if how.cold or how.restart then
    local ok, serr = docker.start(u.old_id)
    if not ok then return nil, serr end
    ok, serr = R.health_gate(u.old_id, opts)
    if not ok then return fail(serr.code, "the old version after its restore: %s", serr.message) end
    if how.restart then notes[#notes + 1] = "the old container restarted on its restored state" end
  end
  return true
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

--- Seconds from a Compose duration: "10s", "1m30s", "500ms", "2h", or a number;
-- nil when it is none of these.
function R.duration(v)
  if v == nil then return nil end
  if type(v) == "number" then return v end
  local text = tostring(v)
  if tonumber(text) then return tonumber(text) end
  if text == "" or text:gsub("[%d%.]+%a+", "") ~= "" then return nil end
  local total = 0
  for n, unit in text:gmatch("([%d%.]+)(%a+)") do
    local mult, x = ({ h = 3600, m = 60, s = 1, ms = 0.001, us = 1e-6, ns = 1e-9 })[unit], tonumber(n)
    if not mult or not x then return nil end
    total = total + x * mult
  end
  return total
end

--- The journal of an update of `name` that has not ended (running now, or killed).
function R.pending(name)
  for _, path in ipairs(assert(journal.files(journal.dir()))) do
    local u = R.from_records(path, assert(journal.read(path)))
    if u.name == name and not u.outcome then return path end
  end
end

--- The last completed change of `name`, from the journals: an update, or a
-- rollback (so that a second rollback goes forward again); finished by recover too.
function R.last_update(name)
  local last
  for _, path in ipairs(assert(journal.files(journal.dir()))) do
    local u = R.from_records(path, assert(journal.read(path)))
    if u.name == name and (u.outcome == "updated" or u.outcome == "recovered: completed"
        or (u.kind == "rollback" and u.outcome == "rolled back")) then
      last = u
    end
  end
  return last
end

--- Back to the version before the last completed update of `name` (see
-- lua/claw/cmd/rollback.lua). Returns { seconds =, serving =, restored =, image =,
-- gap = } (gap: seconds nothing served, when stop-first without a route).
--
-- Its journal reads like an update's, from the current version (old_id) to the
-- previous one (new_id, NAME-next while it is tried): its "backup" steps are
-- snapshots of the state the current version runs on, taken before the update's
-- own backups go back. So a rollback that fails, or is interrupted before its
-- switch, is undone like an update (R.undo_rollback): the current version serves
-- again on its own state and the previous container is kept as it was. One
-- interrupted after its switch is finished (recover).
function R.rollback(name, opts)
  local rb, err = R.rollback_begin(name, opts)
  if not rb then return nil, err end
  return R.rollback_end(rb, opts)
end

--- The first half of R.rollback, up to the start of the previous version (so that
-- a batch of rollbacks starts together): returns the rollback under way, or nil and
-- the error (undone then).
function R.rollback_begin(name, opts)
  local claim = { name = name }
  local claimed, cerr = R.claim(claim)
  if not claimed then return nil, cerr end
  local last = R.last_update(name)
  local current, refused = docker.inspect(name)
  if not last then
    refused = select(2, fail("not_found", "no completed update of %s in the history", name))
  elseif current and current.Id ~= last.new_id then
    refused = select(2, fail("conflict", "%s is not the container the last update made (it was changed since)",
      name))
  end
  if refused or not current then
    claim.name_lock:close()
    return nil, refused
  end
  local rb = { name = name, old_id = current.Id, image = "rollback", new_name = name .. R.NEXT,
    route = R.find_route(name, opts.admin), kind = "rollback", t0 = time.monotonic(), last = last,
    current = current, name_lock = claim.name_lock }
  local opened, oerr = R.journal_open(rb)
  if not opened then return nil, oerr end
  assert(R.step(rb, "begin", { name = name, kind = "rollback", old_id = current.Id, image = last.image,
    old_image = current.Image, old_ref = current.Config.Image, new_image = last.old_image, route = rb.route or json.null,
    new_name = rb.new_name, of = last.journal }))
  local ok, err2 = R.rollback_call(rb, R.rollback_start, opts)
  if not ok then return nil, err2 end
  return rb
end

--- The second half: the previous version's health gate, the switch, the retire.
function R.rollback_end(rb, opts)
  local ok, err = R.rollback_call(rb, R.rollback_serve, opts)
  if not ok then return nil, err end
  local gap = not rb.route and rb.stopped and rb.serving - rb.stopped or nil
  R.finish(rb, "rolled back", { restored = rb.restored_previous, gap = gap })
  return { seconds = time.monotonic() - rb.t0, serving = rb.serving - rb.t0,
    restored = rb.restored_previous, image = rb.last.old_image, name = rb.name, gap = gap }
end

-- Runs `steps(rb, opts)` (they raise, or return nil, err on failure); a failure
-- before the switch is undone, one after it is left to recover.
function R.rollback_call(rb, steps, opts)
  local ok, done, err = pcall(steps, rb, opts)
  if not ok then err = done elseif not done then ok = false end
  if ok then return true end
  if R.interrupted(err) and rb.switched then error(err, 0) end -- (recover finishes it)
  local reason = tostring(type(err) == "table" and err.message or err)
  if rb.switched then
    -- the previous version serves already: recover finishes what is left
    return fail("retire", "%s serves the previous version, but retiring the current one failed: %s "
      .. "(`clawengine recover` finishes it)", rb.name, reason)
  end
  local undone, uerr = R.undo_rollback(rb, opts)
  R.finish(rb, "rollback failed", { reason = reason, restored = rb.restored or json.array(),
    rollback_error = not undone and tostring(uerr) or nil })
  local rerr = select(2, fail(type(err) == "table" and err.code or "failed", "%s; %s", reason, undone
    and "the current version serves again, unchanged" or ("undoing it failed too: " .. tostring(uerr))))
  if R.interrupted(err) then -- (undone: said, then the interrupt goes on up)
    io.write(string.format("%s: rollback failed: %s\n", rb.name, rerr.message))
    error(err, 0)
  end
  return nil, rerr
end

-- Up to the start of the previous version: the container to go back to (the
-- previous one, or a new one from :rollback); then, when it cannot start beside
-- the current one, the current one stops and the update's backups go back.
function R.rollback_start(rb, opts)
  local name, last, current = rb.name, rb.last, rb.current
  local prev = docker.inspect(last.old_id)
  if prev then
    rb.new_id, rb.kept = prev.Id, true
    assert(R.step(rb, "created", { new_id = rb.new_id, kept = true }))
    if prev.Name ~= "/" .. rb.new_name then assert(docker.rename(prev.Id, rb.new_name)) end
  else
    -- The exact image that version ran (going forward again after a rollback: the
    -- image rolled back from): by the reference it had, when that still names it;
    -- else by REPOSITORY:rollback (going forward, :stable), set to it again first
    -- (the tag moves with every update of the repository), unless the image is gone.
    local img = last.old_ref
    local named = img and docker.image(img)
    if not (named and named.Id == last.old_image) then
      img = last.image and R.repository(last.image) .. (last.kind == "rollback" and ":stable" or ":rollback")
        or last.old_image
      if last.image and last.old_image and docker.image(last.old_image) then
        assert(docker.tag(last.old_image, img))
      end
    end
    local spec = assert(docker.clone(current.Id, { image = img, name = rb.new_name }))
    assert(R.step(rb, "create"))
    rb.new_id = assert(docker.create(spec))
    assert(R.step(rb, "created", { new_id = rb.new_id }))
  end
  assert(docker.update(rb.new_id, { RestartPolicy = current.HostConfig.RestartPolicy }))
  rb.restored_previous = json.array()
  -- Stop-first: the previous version must not start on state the newer one
  -- migrated; without a route, it would not get the host port the current one
  -- publishes; and the Compose rollback_config may ask for it. On a route, new
  -- connections wait meanwhile, rather than find no backend.
  if #last.backups > 0 or not rb.route or opts.order == "stop-first" then
    if rb.route then
      rb.held = R.hold(rb, opts)
      assert(route.drain(rb.route, name, { timeout = opts.drain_timeout, admin = opts.admin }))
    end
    assert(R.step(rb, "stop-old"))
    rb.stop_old = true
    assert(docker.stop(current.Id))
    rb.stopped = time.monotonic()
  end
  if #last.backups > 0 then
    -- The state the current version left, for an undo: taken once it has stopped,
    -- so that nothing it wrote is lost.
    local paths, volumes = {}, {}
    for _, b in ipairs(last.backups) do
      table.insert(b.kind == "volume" and volumes or paths, b.path)
    end
    assert(R.step(rb, "backup-start"))
    local ok, err = R.backup_all(rb, paths, volumes)
    if not ok then return nil, err end
    for _, b in ipairs(rb.backups) do assert(R.step(rb, "backup", b)) end
    assert(R.step(rb, "restore"))
    rb.restoring = true
    rb.restored_previous = assert(R.restore_all({ backups = last.backups }))
  end
  assert(R.step(rb, "start"))
  assert(docker.start(rb.new_id))
  return true
end

-- From the start of the previous version to the end: its health gate, the route
-- moved to it, and the version rolled back from kept stopped as NAME-previous, so
-- that a second rollback goes forward again.
function R.rollback_serve(rb, opts)
  local name = rb.name
  local ok, err = R.health_gate(rb.new_id, opts)
  if not ok then return nil, err end
  if rb.route then
    -- journaled once done: recover goes forward from a "switch", and undoes anything
    -- earlier (a move cut short leaves NAME-next on the route; the undo removes it)
    ok, err = R.route_move(rb.route, name, rb.new_name, opts)
    if not ok then return nil, err end
    assert(R.step(rb, "switch"))
    rb.switched = true
    if rb.held then R.unhold(rb, opts) end
  end
  rb.serving = time.monotonic()
  assert(R.step(rb, "retire"))
  rb.switched = true -- (without a route, the previous version serves from its start)
  assert(R.retire(rb, opts))
  return true
end

--- Undoes a rollback that did not reach its switch: the previous container goes back
-- to NAME-previous, stopped (one made from :rollback is removed), and the current
-- version runs again under its name, on the state it had (its snapshots are put
-- back when it was stopped), in service on its route.
function R.undo_rollback(u, opts)
  local ok, done, err = pcall(R.undo_rollback_steps, u, opts)
  R.unhold(u, opts) -- what a pause held goes on
  if not ok then return nil, done end
  return done, err
end

function R.undo_rollback_steps(u, opts)
  -- (without new_id, a NAME-next that exists was made from :rollback: removed)
  local target = docker.inspect(u.new_id or u.new_name)
  if target then
    if u.route and R.route_has(u.route, u.new_name, opts) then
      route.remove(u.route, u.new_name, { admin = opts.admin })
    end
    if u.kept and u.new_id then
      if target.State.Running then
        local ok, err = docker.stop(u.new_id)
        if not ok then return nil, err end
      end
      docker.update(u.new_id, { RestartPolicy = { Name = "no" } })
      if target.Name ~= "/" .. u.name .. R.PREVIOUS then
        local ok, err = docker.rename(u.new_id, u.name .. R.PREVIOUS)
        if not ok then return nil, err end
      end
    else
      local ok, err = docker.remove(target.Id, { force = true })
      if not ok then return nil, err end
    end
  end
  local cur = docker.inspect(u.old_id)
  if not cur then return fail("not_found", "the current container %s is gone", u.old_id) end
  -- Running, though the rollback stopped it: its stop was cut short (an interrupt, a
  -- crash), or it started again meanwhile (a reboot, restart policy "always") on state
  -- the rollback had begun to put back: stopped, to start on its own state again.
  local again = cur.State.Running and (u.restoring or u.stop_old)
  if u.route and (again or not cur.State.Running) then
    R.hold(u, opts) -- new connections wait for it (R.undo_rollback resumes)
  end
  if again then
    local ok, err = docker.stop(u.old_id)
    if not ok then return nil, err end
    cur.State.Running = false
  end
  if not cur.State.Running then
    local ok, err = R.restore_old(u, cur, { cold = true }, {}, {})
    if not ok then return nil, err end
  end
  if u.route then
    -- (adding it again puts a drained backend back in service, with its weight)
    local ok, err = route.add(u.route, u.name, { admin = opts.admin })
    if not ok then return nil, err end
  end
  return true
end

--- --cleanup: the image the :rollback tag named before this update is no longer
-- the way back; it is removed (with all its tags, as Watchtower's cleanup does)
-- when no container, running or stopped, uses it.
function R.cleanup(image_id, u)
  if image_id == u.old_image or image_id == u.new_image then return end
  local list, lerr = docker.containers { all = true }
  if not list then
    log.warn("cleanup: image not removed", { image = image_id, reason = lerr.message })
    return
  end
  for _, c in ipairs(list) do
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
    -- (a canary's weight steps with their share)
    u.timeline[#u.timeline + 1] = { step = rec.step, time = rec.time, percent = rec.percent }
    if rec.step == "begin" then
      for _, k in ipairs { "name", "old_id", "image", "old_image", "old_ref", "new_image", "old_digest",
        "new_digest", "route", "order", "new_name", "kind", "old_weight" } do
        u[k] = rec[k]
      end
      if u.route == json.null then u.route = nil end
      u.started = rec.time
    elseif rec.step == "backup" then
      u.backups[#u.backups + 1] = { path = rec.path, id = rec.id, sha256 = rec.sha256, kind = rec.kind }
    elseif rec.step == "created" then
      u.new_id, u.kept = rec.new_id, rec.kept
    elseif rec.step == "stop-old" then
      u.share, u.stop_old = rec.share, true
    elseif rec.step == "restore" then
      u.restoring = true
    elseif rec.step == "switch" or rec.step == "weight" then -- "weight": a canary's step
      u.switched = true
    elseif rec.step == "end" then
      u.outcome = rec.outcome
      u.ended = rec
    end
    if rec.step == "recover-failed" then
      u.recover_failed = rec.error
    else
      u.last = rec.step -- (the step it stopped after)
    end
  end
  return u
end

-- ---------------------------------------------------------------------------
-- The phases of an update, which policies compose (policies/rolling.lua,
-- policies/canary.lua): options and targets; R.prepare, R.fetch, R.begin,
-- R.start_new, R.switch, R.promote, R.failed; R.update (the rolling update of one
-- container); R.run_groups; R.report.

-- Options that several policies share, by name (see R.options).
local OPTIONS = {}
for _, o in ipairs {
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
  { "notify", value = "URL", list = true, help = "send the outcome there (default: $CLAWENGINE_NOTIFY)" },
  { "json", help = "print the result as JSON" },
} do OPTIONS[o[1]] = o end

--- A policy's option list for claw.args: names of the shared options above, and
-- tables of its own, in the order given.
function R.options(list)
  local out = {}
  for _, o in ipairs(list) do out[#out + 1] = type(o) == "string" and assert(OPTIONS[o], o) or o end
  return out
end

local UPDATE_ACTIONS = { "rollback", "pause", "continue" }
-- (Compose's update_config and rollback_config fields alike)
local DEPLOY_FIELDS = { "parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order" }
local ROLLBACK_ACTIONS = { "pause", "continue" }

local function one_of(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

--- Stops the run before anything changed: a usage error (exit 2) when `err` says
-- what the user named is wrong, else (Docker unreachable, ...) exit by args.exit_code.
function R.refuse(spec, err, fmt, ...)
  if err.code == "not_found" or err.code == "invalid" then args.fail(spec, fmt, ...) end
  args.die(err, "%s", err.message) -- (what went wrong is not the name the user gave)
end

--- Checks the shared options (usage errors, exit 2, before anything changes) and
-- turns --expect into a table and --notify into opts.notify_targets.
function R.check_options(spec, opts, names)
  if opts.order and opts.order ~= "start-first" and opts.order ~= "stop-first" then
    args.fail(spec, "--order must be start-first or stop-first, not %q", opts.order)
  end
  for _, o in ipairs { { "timeout" }, { "monitor", true }, { "drain_timeout", true } } do
    local v, zero_ok = opts[o[1]], o[2]
    if v and not ((zero_ok and v >= 0 or v > 0) and v <= 86400) then
      args.fail(spec, "--%s must be seconds %s 86400, not %s", (o[1]:gsub("_", "-")),
        zero_ok and "from 0 to" or "above 0, up to", v)
    end
  end
  if opts.failure_action and not one_of(UPDATE_ACTIONS, opts.failure_action) then
    args.fail(spec, "--failure-action must be rollback, pause or continue, not %q", opts.failure_action)
  end
  local expect
  for _, e in ipairs(opts.expect or {}) do
    local k, v = e:match("^([^=]+)=(.*)$")
    if not k then args.fail(spec, "--expect %q is not FIELD=VALUE", e) end
    expect = expect or {}
    expect[k] = tonumber(v) or (v == "true" and true) or (v == "false" and false) or v
  end
  opts.expect = expect
  if #names == 0 and #(opts.label or {}) == 0 and not opts.compose then
    args.fail(spec, "no container named (NAME..., --label or --compose)")
  end
  if opts.image then
    local ok, err = registry.parse(opts.image)
    if not ok then args.fail(spec, "--image: %s", err.message) end
    if opts.no_pull then -- (nothing is pulled: it must be here)
      local here, herr = docker.image(opts.image)
      if not here then R.refuse(spec, herr, "--image %s: not here, and --no-pull pulls nothing", opts.image) end
    end
  end
  if opts.health and not opts.health:match("^https?://[^%s]+$") then
    args.fail(spec, "--health %s: not an http:// or https:// URL", opts.health)
  end
  if opts.port and not (opts.port == math.floor(opts.port) and opts.port >= 1 and opts.port <= 65535) then
    args.fail(spec, "--port must be a port number from 1 to 65535, not %s", opts.port)
  end
  for _, b in ipairs(opts.backup or {}) do
    local f, why = io.open(b, "r")
    if not f then args.fail(spec, "--backup %s: cannot be read: %s", b, why:sub(#b + 3)) end
    f:close()
  end
  for _, v in ipairs(opts.backup_volume or {}) do
    local dir, err = backup.volume_dir(v)
    if not dir then R.refuse(spec, err, "--backup-volume %s: %s", v, err.message) end
  end
  opts.notify_targets = notices.targets(spec, opts.notify)
end

-- deploy.update_config or deploy.rollback_config of a Compose service, checked
-- (a usage error, exit 2, names the field): numbers, durations, the failure action
-- (one of `actions`) and the order; absent fields are nil.
local function compose_config(spec, deploy, key, where, actions)
  local c = deploy[key]
  if c == nil then return {} end
  where = where .. "." .. key
  if type(c) ~= "table" then args.fail(spec, "%s must be a mapping", where) end
  for k in pairs(c) do
    if not one_of(DEPLOY_FIELDS, k) then
      args.fail(spec, "%s: unknown field %s (known: %s)", where, tostring(k), table.concat(DEPLOY_FIELDS, ", "))
    end
  end
  local function shown(v) return type(v) == "table" and "a list or mapping" or tostring(v) end
  local out = {}
  local function count(f, min)
    local v = c[f]
    if v == nil then return end
    v = tonumber(v)
    if not v or v < min or v ~= math.floor(v) then
      args.fail(spec, "%s.%s must be a whole number from %d, not %s", where, f, min, shown(c[f]))
    end
    out[f] = v
  end
  count("parallelism", 0)
  for _, f in ipairs { "delay", "monitor" } do
    if c[f] ~= nil then
      out[f] = R.duration(c[f])
      if not out[f] or out[f] < 0 or out[f] > 86400 then
        args.fail(spec, "%s.%s must be a duration from 0s to 24h such as 10s or 1m30s, not %s", where, f,
          shown(c[f]))
      end
    end
  end
  if c.max_failure_ratio ~= nil then
    out.max_failure_ratio = tonumber(c.max_failure_ratio)
    if not out.max_failure_ratio or out.max_failure_ratio < 0 or out.max_failure_ratio > 1 then
      args.fail(spec, "%s.max_failure_ratio must be a number from 0 to 1, not %s", where,
        shown(c.max_failure_ratio))
    end
  end
  if c.failure_action ~= nil then
    if not one_of(actions, c.failure_action) then
      args.fail(spec, "%s.failure_action must be %s, not %s", where,
        table.concat(actions, ", "):gsub(", (%w+)$", " or %1"), shown(c.failure_action))
    end
    out.failure_action = c.failure_action
  end
  if c.order ~= nil then
    if c.order ~= "start-first" and c.order ~= "stop-first" then
      args.fail(spec, "%s.order must be start-first or stop-first, not %s", where, shown(c.order))
    end
    out.order = c.order
  end
  return out
end

--- The targets, in groups that each update by their own settings: a Compose
-- service's containers under its deploy.update_config (Swarm's meanings), or the
-- containers NAMEd and labelled (one group, the options as given).
-- A group: { name =, targets = { inspect(), ... }, s = settings }.
function R.groups(spec, opts, names)
  local function settings(over)
    local s = {}
    for k, v in pairs(opts) do s[k] = v end
    s.parallelism, s.delay, s.max_failure_ratio = 1, 0, 0 -- named targets: one after the other
    s.rollback = R.rollback_config(opts) -- (a Compose service may say otherwise)
    for k, v in pairs(over or {}) do s[k] = v end
    return s
  end
  if not opts.compose then
    local targets = {}
    for _, n in ipairs(names) do
      local c, err = docker.inspect(n)
      if not c then R.refuse(spec, err, "no container %q: %s", n, err.message) end
      targets[#targets + 1] = c
    end
    if #(opts.label or {}) > 0 then
      local list, lerr = docker.containers { label = opts.label }
      if not list then R.refuse(spec, lerr, "--label: %s", lerr.message) end
      if #list == 0 then
        args.fail(spec, "no running container has the label%s %s", #opts.label > 1 and "s" or "",
          table.concat(opts.label, " and "))
      end
      for _, c in ipairs(list) do targets[#targets + 1] = assert(docker.inspect(c.Id)) end
    end
    -- a container named twice (by name and by label) is updated once
    local seen, once = {}, {}
    for _, c in ipairs(targets) do
      if not seen[c.Id] then once[#once + 1], seen[c.Id] = c, true end
    end
    check_routes(spec, opts, once)
    return { { targets = once, s = settings() } }
  end
  local project, err = yaml.compose(opts.compose)
  if not project then args.fail(spec, "--compose %s: %s", opts.compose, err.message) end
  local wanted = #names > 0 and names or nil
  if not wanted then
    wanted = {}
    for svc in pairs(project.services) do wanted[#wanted + 1] = svc end
    table.sort(wanted)
  end
  local groups = {}
  for _, svc in ipairs(wanted) do
    local sdef = project.services[svc]
    if not sdef then args.fail(spec, "service %q is not in %s", svc, opts.compose) end
    local deploy = type(sdef.deploy) == "table" and sdef.deploy or {}
    local where = string.format("%s: services.%s.deploy", opts.compose, svc)
    local uc = compose_config(spec, deploy, "update_config", where, UPDATE_ACTIONS)
    local rc = compose_config(spec, deploy, "rollback_config", where, ROLLBACK_ACTIONS)
    local s = settings {
      image = opts.image or sdef.image,
      parallelism = uc.parallelism or 1,
      delay = uc.delay or 0,
      failure_action = uc.failure_action or opts.failure_action or "rollback",
      monitor = uc.monitor or opts.monitor,
      max_failure_ratio = uc.max_failure_ratio or 0,
      order = uc.order or opts.order,
    }
    -- (the order stays start-first where a route lets the previous version start
    -- beside the current one, unless said: Swarm's default is stop-first)
    for k, v in pairs(rc) do s.rollback[k] = v end
    local list, lerr = docker.containers { label = {
      "com.docker.compose.project=" .. project.name, "com.docker.compose.service=" .. svc } }
    if not list then R.refuse(spec, lerr, "service %q: %s", svc, lerr.message) end
    local targets = {}
    for _, c in ipairs(list) do targets[#targets + 1] = assert(docker.inspect(c.Id)) end
    table.sort(targets, function(a, b) return a.Name < b.Name end)
    if #targets == 0 then
      args.fail(spec, "service %q of project %q has no running container", svc, project.name)
    end
    check_routes(spec, opts, targets)
    groups[#groups + 1] = { name = svc, targets = targets, s = s }
  end
  return groups
end

--- The update of container `c` (an inspect result) as far as it is known before
-- anything happens: names, images, route. A start-first update without a route
-- becomes stop-first, said once.
function R.prepare(c, opts)
  local name = c.Name:gsub("^/", "")
  local u = {
    name = name, old_id = c.Id, old_ref = c.Config.Image, image = opts.image or c.Config.Image,
    old_image = c.Image, new_name = name .. R.NEXT, order = opts.order or "start-first",
  }
  if not opts.image and (u.image:match(":rollback$") or u.image:match(":stable$")) then
    -- made by a rollback from clawengine's own tag: updated by the reference its
    -- updates had (the tag names whatever the repository's last update left). A
    -- user's own ":stable" reference stays.
    local last = R.last_update(name)
    if last and last.kind == "rollback" and not last.kept and last.new_id == c.Id and last.image then
      u.image = last.image
    end
  end
  u.route = opts.route or R.find_route(name, opts.admin)
  if u.order == "start-first" and not u.route then
    local ports = R.published_ports(c)
    -- said once something is to change (R.begin, R.plan): not for "up to date"
    u.stop_first_why = string.format("%s has no route%s: updating stop-first (requests fail while it "
      .. "restarts); `clawengine adopt %s --route NAME --listen ADDR` puts it behind the traffic switch",
      name, #ports > 0 and (" and publishes " .. table.concat(ports, ", ") .. " itself") or "", name)
    u.order = "stop-first"
  end
  return u
end

--- Prints the plan of an update (--dry-run) and returns its result. `traffic` are
-- the policy's lines between the health gate and the retirement.
function R.plan(u, opts, traffic)
  if u.stop_first_why then log.warn(u.stop_first_why) end
  local lines = { string.format("plan for %s (%s):", u.name, u.order),
    opts.no_pull and ("  use " .. u.image .. " as it is here (--no-pull)") or ("  pull " .. u.image) }
  for _, b in ipairs(opts.backup or {}) do lines[#lines + 1] = "  back up " .. b end
  for _, v in ipairs(opts.backup_volume or {}) do lines[#lines + 1] = "  back up volume " .. v end
  if u.order == "stop-first" then
    lines[#lines + 1] = "  stop " .. u.name .. " (kept), create and start " .. u.new_name
  else
    lines[#lines + 1] = "  create and start " .. u.new_name .. " beside " .. u.name
  end
  lines[#lines + 1] = "  tag the running image " .. R.repository(u.image) .. ":rollback"
  -- the health gate as R.health_gate will run it, each part with its deadline
  local gate, t = {}, opts.timeout and (opts.timeout .. " s")
  local c = docker.inspect(u.old_id)
  local hc = c and c.Config.Healthcheck
  if hc and hc.Test and hc.Test[1] ~= "NONE" then
    gate[#gate + 1] = "its Docker healthcheck (deadline " .. (t or "the healthcheck's own") .. ")"
  end
  if opts.health then
    local expect = {}
    for k, v in pairs(opts.expect or {}) do expect[#expect + 1] = k .. "=" .. tostring(v) end
    table.sort(expect)
    gate[#gate + 1] = "GET " .. opts.health .. (#expect > 0 and (" with " .. table.concat(expect, ", ")) or "")
      .. " (deadline " .. (t or "60 s") .. ")"
  elseif #gate == 0 then
    gate[1] = opts.port and ("it runs and accepts connections on port " .. opts.port .. " (deadline "
      .. (t or "60 s") .. ")") or "it is running (no healthcheck, --health or --port to wait for)"
  end
  lines[#lines + 1] = "  health gate: " .. table.concat(gate, ", then ")
  for _, l in ipairs(traffic or {}) do lines[#lines + 1] = "  " .. l end
  lines[#lines + 1] = string.format("  retire %s as %s%s, rename %s to %s", u.name, u.name, R.PREVIOUS,
    u.new_name, u.name)
  local backups = #(opts.backup or {}) + #(opts.backup_volume or {}) > 0
  lines[#lines + 1] = "  on failure: " .. (u.route and "route back, " or "start the old one again, ")
    .. "remove " .. u.new_name .. (backups and ", restore the backups" or "")
  io.write(table.concat(lines, "\n"), "\n")
  return { name = u.name, outcome = "planned" }
end

-- What a target's outcome counts as in the daemon's metrics (engine.report).
local REPORTED = {
  ["updated"] = { "update", "succeeded" }, ["rolled back"] = { "update", "rolled_back" },
  ["rollback failed"] = { "update", "failed" }, ["failed"] = { "update", "failed" },
  ["paused"] = { "update", "failed" }, ["up to date"] = { "check", "up_to_date" },
}

local function result(u, outcome, fields)
  local r = { name = u.name, outcome = outcome, old_ref = u.old_ref, image = u.image, old_image = u.old_image,
    new_image = u.new_image, duration = u.started and (time.now() - u.started) or nil }
  for k, v in pairs(fields or {}) do r[k] = v end
  local rep = REPORTED[outcome]
  if rep then engine.report { kind = rep[1], target = u.name, outcome = rep[2] } end
  return r
end

--- Refuses an update while another of the same container has not ended, pulls
-- (unless --no-pull) and compares. `true` when there is something to do, else
-- nil and the result ("up to date", or "failed" with the reason).
function R.fetch(u, opts)
  local pending = R.pending(u.name)
  if pending then
    return nil, result(u, "failed", { reason = "an update of " .. u.name
      .. " is under way or was interrupted (" .. pending .. "); run clawengine recover" })
  end
  if not opts.no_pull then
    local pulled, err = docker.pull(u.image)
    if not pulled then return nil, result(u, "failed", { reason = err.message }) end
  end
  local img, err = docker.image(u.image)
  if not img then return nil, result(u, "failed", { reason = err.message }) end
  u.new_image = img.Id
  u.new_digest, u.old_digest = image.digest(img, u.image), image.digest(u.old_image, u.image)
  if u.new_image == u.old_image then
    log.info("up to date", { container = u.name, image = u.image })
    return nil, result(u, "up to date")
  end
  engine.report { kind = "check", target = u.name, outcome = "update_available" }
  return true
end

--- Opens the journal ("begin", with `fields` such as kind = "canary") and takes the
-- backups.
function R.begin(u, opts, fields)
  if u.stop_first_why then log.warn(u.stop_first_why) end
  local opened, oerr = R.journal_open(u)
  if not opened then return nil, oerr end
  local rec = { name = u.name, old_id = u.old_id, image = u.image, old_image = u.old_image, old_ref = u.old_ref,
    new_image = u.new_image, old_digest = u.old_digest or json.null, new_digest = u.new_digest or json.null,
    route = u.route or json.null, order = u.order, new_name = u.new_name }
  for k, v in pairs(fields or {}) do rec[k] = v end
  assert(R.step(u, "begin", rec))
  assert(R.step(u, "backup-start"))
  local ok, err = R.backup_all(u, opts.backup, opts.backup_volume)
  if not ok then return nil, err end
  for _, b in ipairs(u.backups) do assert(R.step(u, "backup", b)) end
  return true
end

--- Tags the running image REPOSITORY:rollback, so that it stays reachable without
-- a registry (R.start_new does it while the new container starts). An update that
-- could not tag it fails: it would leave nothing to roll back to once the old
-- container is gone.
function R.tag_rollback(u)
  assert(R.step(u, "tag"))
  local ref = R.repository(u.image) .. ":rollback"
  u.prev_rollback = docker.image(ref)
  local ok, err = docker.tag(u.old_image, ref)
  if not ok then return fail(err.code, "tagging the running image as %s: %s", ref, err.message) end
  return true
end

--- After success: the new image is REPOSITORY:stable (a refused tag is a warning).
function R.tag_stable(u)
  local stable = R.repository(u.image) .. ":stable"
  local tagged, terr = docker.tag(u.new_image, stable)
  if not tagged then log.warn("the new image is not tagged " .. stable, { reason = terr.message }) end
end

--- The new container: a clone of the old one with the new image, as NAME-next,
-- started (after stopping the old one when stop-first) and through its health gate.
-- The running image is tagged :rollback while the new one starts, off the path
-- from the start of the update to the switch (stop-first: before the old one stops,
-- off the gap). With `nowait`, it returns once the container started; R.gate_new is
-- then its health gate.
function R.start_new(u, opts, nowait)
  local spec_new, serr = docker.clone(u.old_id, { image = u.image, name = u.new_name })
  if not spec_new then return nil, serr end
  if u.order == "stop-first" then
    local ok, err = R.tag_rollback(u)
    if not ok then return nil, err end
    -- a leftover NAME-next goes before the old version stops, not during the gap
    R.remove_if_exists(u.new_name)
    local share
    if u.route then
      -- New connections go to the route's other backends meanwhile, or wait while
      -- none serves; the old version's own stop ends the requests it has.
      local b = R.backend(u.route, u.name, opts)
      share = b and b.weight > 0 and math.tointeger(b.weight) or nil
      u.held = R.hold(u, opts)
    end
    assert(R.step(u, "stop-old", { share = share }))
    u.share, u.stop_old = share, true
    if share then
      local ok, err = route.weight(u.route, { [u.name] = 0 }, { admin = opts.admin })
      if not ok then return nil, err end
    end
    u.t_stop = time.monotonic()
    local ok, err = docker.stop(u.old_id)
    if not ok then return nil, err end
  end
  assert(R.step(u, "create"))
  local new_id, cerr = docker.create(spec_new)
  if not new_id and cerr.code == "conflict" then
    -- a NAME-next left over (recover removes the ones it journaled): replaced
    R.remove_if_exists(u.new_name)
    new_id, cerr = docker.create(spec_new)
  end
  if not new_id then return nil, cerr end
  u.new_id = new_id
  assert(R.step(u, "created", { new_id = new_id }))
  local ok, err = docker.start(new_id)
  if not ok then return nil, err end
  u.t_started = time.monotonic()
  if u.order ~= "stop-first" then
    ok, err = R.tag_rollback(u)
    if not ok then return nil, err end
  end
  if nowait then return true end
  return R.gate_new(u, opts)
end

--- The health gate of the new container R.start_new started.
function R.gate_new(u, opts)
  local ok, err = R.health_gate(u.new_id, opts)
  if not ok then return nil, err end
  u.ready = time.monotonic() - u.t_started
  u.t_serving = not u.route and time.monotonic() or nil -- (on a route: at the switch)
  assert(R.step(u, "healthy", { seconds = u.ready }))
  return true
end

--- Every new connection of the route goes to the new container (the old one's share).
function R.switch(u, opts)
  assert(R.step(u, "switch"))
  u.switched = true
  local ok, err = R.route_move(u.route, u.name, u.new_name, opts, u.share)
  u.t_serving = time.monotonic()
  if u.held then R.unhold(u, opts) end
  return ok, err
end

-- Stop-first: says the gap from the old version's stop to `t`, when a version serves
-- again, and what the clients saw meanwhile; returns it (nil: nothing stopped).
local function stop_gap(u, t)
  if not (u.t_stop and t) then return nil end
  local gap = t - u.t_stop
  io.stderr:write(string.format("%s: stop-first gap %.2f s (%s)\n", u.name, gap, not u.route
    and "no route: requests failed meanwhile" or u.held and "new connections waited on the paused route"
    or "the route's other backends served"))
  return gap
end

--- The new version stays: the old one retires as NAME-previous, the new image is
-- tagged REPOSITORY:stable, --cleanup runs, and the journal ends "updated" (with
-- `fields`). Returns the result.
function R.promote(u, opts, fields)
  local route_failures = R.route_failures(u.route, u.new_name, opts)
  u.retiring = true -- past the point of no return: forward only (see R.phase)
  assert(R.step(u, "retire"))
  local ok, err = R.retire(u, opts)
  if not ok then return R.failed(u, opts, err) end
  R.tag_stable(u)
  local gap = stop_gap(u, u.t_serving)
  local rec = { seconds_to_healthy = u.ready, gap = gap or json.null, route_failures = route_failures or json.null }
  for k, v in pairs(fields or {}) do rec[k] = v end
  R.finish(u, "updated", rec)
  -- (once the update has ended: a cleanup that fails is a warning)
  if opts.cleanup and u.prev_rollback then R.cleanup(u.prev_rollback.Id, u) end
  log.info("updated", { container = u.name, image = u.image, healthy_after = string.format("%.2fs", u.ready),
    gap = gap and string.format("%.2fs", gap) or nil })
  return result(u, "updated", { seconds_to_healthy = u.ready, gap = gap })
end

--- A failed update: undone (the failure action "rollback": the old container
-- serves, the new one is removed, the backups that changed are restored), or
-- paused ("pause": the old container serves again, the new one is left running
-- beside it, out of traffic, for a look; the next run replaces it). The journal
-- ends with the outcome; returns the result.
function R.failed(u, opts, reason)
  reason = tostring(reason)
  log.error("update failed", { container = u.name, reason = reason })
  if not u.journal then return result(u, "failed", { reason = reason }) end -- nothing began
  -- (what the route saw to the new container, read before it leaves the route)
  local failures = u.route and R.route_failures(u.route, u.new_name, opts) or json.null
  -- Stop-first, the old version starts again (on its state) even to pause; the new
  -- one is kept, stopped.
  local old = opts.failure_action == "pause" and docker.inspect(u.old_id)
  local keep_new = old and (not old.State.Running or u.stop_old)
  if opts.failure_action == "pause" and not keep_new then
    local notes = {}
    R.route_back(u, opts, notes)
    if u.route and u.new_name and R.route_has(u.route, u.new_name, opts) then
      -- out of the route, once its requests in flight are done (briefly): the next
      -- run recreates it, maybe at another address
      route.drain(u.route, u.new_name, { timeout = math.min(opts.drain_timeout or 5, 5), admin = opts.admin })
      route.remove(u.route, u.new_name, { admin = opts.admin })
    end
    R.finish(u, "paused", { reason = reason, notes = #notes > 0 and notes or nil, route_failures = failures })
    return result(u, "paused", { reason = reason })
  end
  local ok, uerr = R.undo(u, opts, keep_new)
  local outcome = ok and (keep_new and "paused" or "rolled back") or "rollback failed"
  local gap = ok and stop_gap(u, time.monotonic()) or nil
  R.finish(u, outcome, { reason = reason, restored = u.restored or json.array(), route_failures = failures,
    rollback_error = not ok and tostring(uerr) or nil, gap = gap, notes = keep_new and ok and uerr or nil })
  return result(u, outcome, { reason = reason, restored = u.restored })
end

--- Runs a phase of update `u`: `f(u, ...)`. An error it raises (a bug, a journal
-- that cannot be written, an interrupt) fails the update like one it returns, so
-- that R.failed undoes it rather than leave it half done; the caller raises an
-- interrupt again once the update is undone (R.interrupted). An error once the old
-- version retires (u.retiring) goes on up: that update can only go forward, which
-- `clawengine recover` does (it runs before the next `run` too).
function R.phase(f, u, ...)
  local ok, a, b = pcall(f, u, ...)
  if ok then return a, b end
  if u.retiring then error(a, 0) end
  return nil, a
end

--- Prints the line of result `r` as R.report does (before an interrupt goes up).
function R.say(r)
  io.write(string.format("%s: %s%s%s\n", r.name, r.outcome, r.reason and (": " .. r.reason) or "",
    r.note and (" (" .. r.note .. ")") or ""))
end

--- Is `err` an interrupt (SIGINT, SIGTERM)?
function R.interrupted(err)
  return type(err) == "table" and err.code == "interrupted"
end

--- The options of the undo of an interrupted update: a rollback, whatever the
-- failure action.
function R.undoing(opts)
  return setmetatable({ failure_action = "rollback" }, { __index = opts })
end

--- The rolling update of one container: the new version beside the old one,
-- health-gated, the route switched, watched, then the old one retired; any failure
-- undoes it. Returns the result ({ name =, outcome =, reason =, ... }).
function R.update(c, opts)
  return R.update_batch({ c }, opts)[1]
end

--- Several containers updated together (a Compose batch of `parallelism`): each
-- new container is started, then their health gates are awaited in turn (the others
-- go on starting meanwhile) and each switches once it passes; they are monitored
-- together, then each is promoted or fails alone. Returns their results, in order.
function R.update_batch(cs, opts)
  local results, started, watched = {}, {}, {}
  -- An interrupt: what has begun is undone, the rest is not tried, and the
  -- interrupt goes on up.
  local stop
  local function failed(u, err)
    if R.interrupted(err) then stop = err end
    local r = R.failed(u, stop and R.undoing(opts) or opts, err)
    if stop then R.say(r) end -- (the report is not reached: the interrupt goes up)
    return r
  end
  local function caught(err) -- (an interrupt before anything of its own began)
    if not R.interrupted(err) then error(err, 0) end
    stop = err
  end
  for i, c in ipairs(cs) do
    if stop then break end
    local ran, u = pcall(R.prepare, c, opts)
    if not ran then
      caught(u)
      break
    end
    local todo, res
    local here = engine.dry_run and opts.no_pull and docker.image(u.image)
    if here and here.Id == u.old_image then
      res = result(u, "up to date")
    elseif engine.dry_run then
      res = R.plan(u, opts, u.route and
        { string.format("switch route %s to %s, monitor %g s", u.route, u.new_name, opts.monitor) })
    else
      ran, todo, res = pcall(R.fetch, u, opts) -- (the pull: the longest wait)
      if not ran then caught(todo) end
    end
    if stop then
      break
    elseif not todo then
      results[i] = res
    else
      local ok, err = R.phase(R.begin, u, opts)
      if ok then ok, err = R.phase(R.start_new, u, opts, true) end
      if ok then started[#started + 1] = { i = i, u = u } else results[i] = failed(u, err) end
    end
  end
  for _, t in ipairs(started) do
    local ok, err = not stop, stop
    if ok then ok, err = R.phase(R.gate_new, t.u, opts) end
    if ok and t.u.route then ok, err = R.phase(R.switch, t.u, opts) end
    if ok then watched[#watched + 1] = t else results[t.i] = failed(t.u, err) end
  end
  local us = {}
  for k, t in ipairs(watched) do us[k] = t.u end
  local errs, merr
  if not stop then errs, merr = R.phase(R.monitor_all, us, opts.monitor, opts) end -- (us: no retiring yet)
  for k, t in ipairs(watched) do
    local err = stop or errs and errs[k] or merr
    local res
    if not err then
      local ran
      ran, res, err = pcall(R.phase, R.promote, t.u, opts)
      if not ran then
        -- past its retire step it only goes forward (recover); the others of the
        -- batch are undone
        if not R.interrupted(res) then error(res, 0) end
        stop, res = res, result(t.u, "interrupted", { reason = "interrupted while it retired the old version: "
          .. "clawengine recover finishes it" })
      end
    end
    results[t.i] = res or failed(t.u, err)
  end
  if stop then error(stop, 0) end
  return results
end

--- The rollbacks of the targets already updated, when one fails: Swarm's
-- rollback_config defaults (monitor: --monitor, whose default is Swarm's 5 s).
function R.rollback_config(opts)
  return { parallelism = 1, delay = 0, failure_action = "pause", monitor = opts.monitor or 0,
    max_failure_ratio = 0 }
end

--- Takes back `names`, containers of a group its update made, after the group's
-- failure action fired (rollback): by opts.rollback, a Compose rollback_config
-- with Swarm's meanings (default: one at a time, pause on the first failure). Each
-- batch of `parallelism` (0: all) starts its previous versions together, passes
-- their health gates, then is watched `monitor` seconds; `delay` between batches.
-- When failed / tried exceeds max_failure_ratio, "pause" leaves the rest on the new
-- version, "continue" goes on. Adds a result per name to `results`.
function R.rollback_group(names, opts, results)
  if #names == 0 then return end
  local rc = opts.rollback or R.rollback_config(opts)
  -- (false, unsaid: not the update's own order)
  local ropts = setmetatable({ order = rc.order or false }, { __index = opts })
  local size = rc.parallelism > 0 and rc.parallelism or #names
  local tried, failed, why = 0, 0, "another target of the same group failed"
  local function record(name, err)
    results[#results + 1] = { name = name, outcome = err and "rollback failed" or "rolled back",
      reason = err and tostring(err) or why }
    -- (counted again: its update counted as succeeded when it ended)
    engine.report { kind = "update", target = name, outcome = err and "failed" or "rolled_back" }
    tried, failed = tried + 1, failed + (err and 1 or 0)
  end
  for first = 1, #names, size do
    if first > 1 and rc.delay > 0 then time.sleep(rc.delay) end
    if failed > 0 and failed / tried > rc.max_failure_ratio and rc.failure_action == "pause" then
      for k = first, #names do
        results[#results + 1] = { name = names[k], outcome = "not rolled back", reason = string.format(
          "the rollback paused after %d of %d rollback(s) failed (rollback_config.failure_action)", failed, tried) }
      end
      return
    end
    local begun, served = {}, {}
    for k = first, math.min(first + size - 1, #names) do
      local rb, err = R.rollback_begin(names[k], ropts)
      if rb then begun[#begun + 1] = rb else record(names[k], err) end
    end
    for _, rb in ipairs(begun) do
      local ok, err = R.rollback_end(rb, ropts)
      if ok then
        served[#served + 1] = { name = rb.name, new_id = rb.new_id, route = rb.route, new_name = rb.name,
          what = "the previous version" }
      else
        record(rb.name, err)
      end
    end
    local errs = R.monitor_all(served, rc.monitor, opts, "after its rollback")
    for k, u in ipairs(served) do record(u.name, errs[k]) end
  end
end

-- Updates the targets of group `g` with `update(c, settings, i)`, in batches of
-- `parallelism` (0: all in one), `delay` apart. The failure action fires when
-- failed / tried exceeds max_failure_ratio: rollback also takes back the targets
-- of the group already updated. Returns whether the run goes on, and how many
-- targets failed.
local function run_group(g, update, results)
  local s, updated, failed, done = g.s, 0, 0, {}
  local size = s.parallelism > 0 and s.parallelism or #g.targets
  if engine.dry_run and g.name then -- (a Compose service: how its batches would go)
    local rc = s.rollback or R.rollback_config(s)
    io.write(string.format("plan for service %s: %d container(s) in batches of %d, %g s apart; a failure "
      .. "above %g of those tried: %s%s\n", g.name, #g.targets, size, s.delay, s.max_failure_ratio,
      s.failure_action, s.failure_action == "rollback" and string.format(" (the ones updated roll back %d "
      .. "at a time, %g s apart, each batch watched %g s; a failed rollback: %s)", rc.parallelism,
      rc.delay, rc.monitor, rc.failure_action) or ""))
  end
  for first = 1, #g.targets, size do
    if first > 1 and s.delay > 0 and not engine.dry_run then time.sleep(s.delay) end
    local batch = table.move(g.targets, first, math.min(first + size - 1, #g.targets), 1, {})
    local rs = {}
    if update == R.update then
      rs = R.update_batch(batch, s) -- the batch's containers update together
    else
      for k, c in ipairs(batch) do rs[k] = update(c, s, first + k - 1) end
    end
    for _, r in ipairs(rs) do
      results[#results + 1] = r
      if r.outcome == "updated" then
        updated = updated + 1
        done[#done + 1] = r.name
      elseif r.outcome ~= "up to date" and r.outcome ~= "planned" and r.outcome ~= "skipped" then
        failed = failed + 1
      end
    end
    if failed > 0 and failed / (updated + failed) > s.max_failure_ratio then
      if s.failure_action == "rollback" then
        local last_first = {}
        for j = #done, 1, -1 do last_first[#last_first + 1] = done[j] end
        R.rollback_group(last_first, s, results)
      end
      if s.failure_action ~= "continue" then return false, failed end
    end
  end
  return true, failed
end

--- Runs the groups (R.groups) in order with `update(c, settings, i)` (default
-- R.update; `i` is the target's place in its group) and stops after a group whose
-- failure action says so. `update` may return the outcome "skipped" (neither a
-- success nor a failure). Returns the results and how many targets failed.
function R.run_groups(groups, update)
  local results, failures = {}, 0
  for _, g in ipairs(groups) do
    local go_on, failed = run_group(g, update or R.update, results)
    failures = failures + failed
    if not go_on then break end
  end
  return results, failures
end

--- Prints the results (one line each, or JSON with --json) and sends the
-- outcomes to opts.notify_targets. A notification that cannot be sent is said on
-- stderr; it does not change what the run's exit code says.
function R.report(results, opts)
  if opts.json or engine.json then
    io.write(json.encode(json.array(results)), "\n")
  else
    for _, r in ipairs(results) do R.say(r) end
  end
  local unsent = notices.outcomes(opts.notify_targets or {}, results)
  if unsent > 0 then
    io.stderr:write(string.format("clawengine: the outcome could not be sent to %d of %d notification target(s)"
      .. " (see the log above)\n", unsent, #opts.notify_targets))
  end
end

return R
