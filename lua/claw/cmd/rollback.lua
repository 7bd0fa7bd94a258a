-- `clawengine rollback NAME`: back to the version that ran before the last update of
-- NAME, with the backups taken before that update put back first.
--
-- The previous container (NAME-previous) is started again, or, when it is gone,
-- recreated from the REPOSITORY:rollback image. Without backups to restore, the
-- previous version starts beside the current one and the route flips to it; with
-- backups, the current version stops first (the previous one must not start on state
-- the newer one migrated), then the backups go back, then the previous one starts.
local args = require "claw.args"
local docker = require "claw.docker"
local journal = require "claw.journal"
local json = require "claw.json"
local log = require "claw.log"
local R = require "claw.rollout"
local route = require "claw.route"
local time = require "claw.time"

local spec = {
  usage = "clawengine rollback NAME [--timeout S] [--admin PATH]",
  options = {
    { "timeout", value = "SECONDS", number = true, help = "the previous version's health deadline" },
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "drain-timeout", value = "SECONDS", number = true, default = 30 },
  },
}
local opts, words = args.parse(arg, spec)
if #words ~= 1 then args.fail(spec, "rollback: expected one container name") end
local name = words[1]

-- The last completed update of NAME.
local last
for _, path in ipairs(assert(journal.files(journal.dir()))) do
  local u = R.from_records(path, assert(journal.read(path)))
  if u.name == name and u.outcome == "updated" then last = u end
end
if not last then
  io.stderr:write(string.format("clawengine: rollback: no completed update of %s in the history\n", name))
  return 1
end
local current = docker.inspect(name)
if not current then
  io.stderr:write(string.format("clawengine: rollback: no container %s\n", name))
  return 1
end
if current.Id ~= last.new_id then
  io.stderr:write(string.format("clawengine: rollback: %s is not the container the last update made "
    .. "(it was changed since); nothing done\n", name))
  return 1
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
local prev_id
if prev then
  prev_id = prev.Id
  if prev.Name ~= "/" .. rb.new_name then assert(docker.rename(prev_id, rb.new_name)) end
else
  local image = R.repository(last.image) .. ":rollback"
  local spec_prev = assert(docker.clone(current.Id, { image = image, name = rb.new_name }))
  prev_id = assert(docker.create(spec_prev))
end
rb.new_id = prev_id
assert(R.step(rb, "created", { new_id = prev_id }))

local restored = {}
if #rb.backups > 0 then
  if rb.route then
    assert(route.drain(rb.route, name, { timeout = opts.drain_timeout, admin = opts.admin }))
  end
  assert(docker.stop(current.Id))
  assert(R.step(rb, "restore"))
  restored = assert(R.restore_all(rb))
end
assert(docker.start(prev_id))
local ok, err = R.health_gate(prev_id, { timeout = opts.timeout })
if not ok then
  log.error("the previous version is not healthy", { reason = tostring(err) })
  R.finish(rb, "rollback failed", { reason = tostring(err) })
  return 1
end
if rb.route then
  assert(R.step(rb, "switch"))
  assert(route.switch(rb.route, rb.new_name, { admin = opts.admin }))
end
assert(R.step(rb, "retire"))
-- The version rolled back from is kept stopped as NAME-previous, so a second
-- rollback goes forward again.
assert(R.retire(rb, { admin = opts.admin, drain_timeout = opts.drain_timeout }))
R.finish(rb, "rolled back", { restored = json.array(restored) })
io.write(string.format("%s: rolled back to %s in %.2f s%s\n", name, last.old_image:sub(1, 19),
  time.monotonic() - t0, #restored > 0 and ("; restored " .. table.concat(restored, ", ")) or ""))
