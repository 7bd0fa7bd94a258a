-- `clawengine recover`: finishes or undoes every update that was interrupted (a
-- crash, kill -9, a reboot), so that exactly one version serves under each name,
-- with its config, and no temporary container is left. An update interrupted while
-- retiring the old version is finished; any earlier one is undone. So is a
-- `clawengine rollback` (R.undo_rollback), except that one interrupted after its
-- switch is finished. An update whose
-- process still runs (it holds its journal's lock) is left alone. A canary's
-- journal is read the same way (R.from_records): its "weight" steps count as a
-- switch, and the undo gives the old container back the weight its "begin" recorded.
local args = require "claw.args"
local engine = require "claw.engine"
local journal = require "claw.journal"
local log = require "claw.log"
local R = require "claw.rollout"
local route = require "claw.route"

local spec = {
  usage = "clawengine recover [--admin PATH] [--quiet]",
  options = {
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "quiet", help = "say nothing when there is nothing to recover" },
  },
}
local opts = args.parse(arg, spec)

local files, ferr = journal.files(journal.dir())
if not files then
  -- The automatic run before every `clawengine run` (--quiet) says nothing to a user
  -- who may not read the state at all: that user cannot have updates to recover.
  if opts.quiet and ferr.code ~= "not_found" then return 0 end
  io.stderr:write("clawengine: recover: ", ferr.message, "\n")
  return 1
end

local pending, failed = 0, 0
for _, path in ipairs(files) do
  -- Held while it is recovered: the update's own process, or another recover (the
  -- daemon's, a run's), leaves it alone meanwhile. Read once it is held.
  local lock <close> = journal.lock(path)
  -- (under --dry-run the lock holds nothing: a live update is left alone all the same)
  local live = engine.dry_run and journal.busy(path)
  local u = lock and not live and R.from_records(path, assert(journal.read(path)))
  if u and u.name and not u.outcome and u.recover_failed and opts.quiet then
    -- A recovery that failed is tried again when asked (`clawengine recover`), not
    -- before every run: its steps (a restore, a restart) would be repeated each time.
    io.stderr:write(string.format("clawengine: %s: its recovery failed (%s); the update stays pending (%s): "
      .. "fix what failed, then run clawengine recover\n", u.name, u.recover_failed, path))
    failed = failed + 1
  elseif u and u.name and not u.outcome then
    pending = pending + 1
    -- (a rollback that switched serves the version it went back to: finished too)
    local forward = u.last == "retire" or (u.kind == "rollback" and u.switched)
    log.warn("recovering an interrupted update", { container = u.name, last_step = u.last,
      action = forward and "finish" or "undo" })
    local ok, err
    if forward then
      ok, err = true, nil
      if u.route and u.last == "switch" then -- (again: a move already made changes nothing)
        ok, err = R.route_move(u.route, u.name, u.new_name, opts, u.share)
      end
      if ok then ok, err = R.retire(u, opts) end
      if ok and u.kind ~= "rollback" and u.new_image and u.image then R.tag_stable(u) end
    else
      ok, err = R.undo(u, opts)
    end
    -- a pause the interrupted run left on its route ends (it would at its deadline)
    R.unhold(u, opts)
    if ok then
      local outcome = forward and "recovered: completed" or "recovered: rolled back"
      R.step(u, "end", { outcome = outcome, reason = "interrupted after step " .. tostring(u.last),
        restored = u.restored })
      io.write(string.format("%s: %s (interrupted after %s)\n", u.name, outcome, u.last))
    else
      -- Not an end: the update stays pending (no other update of the container runs
      -- meanwhile), and the next recover tries again.
      R.step(u, "recover-failed", { error = tostring(err) })
      io.write(string.format("%s: recovery failed (interrupted after %s): %s; the update stays pending "
        .. "(%s): fix what failed, then run clawengine recover again\n", u.name, u.last, tostring(err), path))
      failed = failed + 1
    end
  end
end
if pending == 0 and not opts.quiet then io.stderr:write("nothing to recover\n") end
if failed > 0 then return 1 end
