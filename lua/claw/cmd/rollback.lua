-- `clawengine rollback NAME`: back to the version that ran before the last update of
-- NAME, with the backups taken before that update put back first (R.rollback in
-- lua/claw/rollout.lua; docs/rolling.md).
--
-- The previous container (NAME-previous) is started again, or, when it is gone,
-- recreated from the REPOSITORY:rollback image. Without backups to restore, the
-- previous version starts beside the current one and the route moves to it; with
-- backups, the current version stops first (the previous one must not start on state
-- the newer one migrated), then the backups go back, then the previous one starts.
-- Without a route it stops first too: the previous version needs the host port the
-- current one publishes.
local args = require "claw.args"
local R = require "claw.rollout"

local spec = {
  usage = "clawengine rollback NAME [--timeout S] [--drain-timeout S] [--admin PATH]",
  options = {
    { "timeout", value = "SECONDS", number = true, help = "the previous version's health deadline" },
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "drain-timeout", value = "SECONDS", number = true, default = 30,
      help = "how long the current version's connections may take to close" },
  },
}
local opts, words = args.parse(arg, spec)
if #words ~= 1 then args.fail(spec, "rollback: expected one container name") end
if opts.timeout and not (opts.timeout > 0 and opts.timeout <= 86400) then
  args.fail(spec, "rollback: --timeout must be seconds above 0, up to 86400, not %s", opts.timeout)
end
if not (opts.drain_timeout >= 0 and opts.drain_timeout <= 86400) then
  args.fail(spec, "rollback: --drain-timeout must be seconds from 0 to 86400, not %s", opts.drain_timeout)
end

local r, err = R.rollback(words[1], opts)
if not r then
  io.stderr:write(string.format("clawengine: rollback: %s\n", tostring(err)))
  return args.exit_code(err)
end
io.write(string.format("%s: rolled back to %s: serving after %.2f s, done in %.2f s%s%s\n", words[1],
  r.image:sub(1, 19), r.serving, r.seconds,
  #r.restored > 0 and ("; restored " .. table.concat(r.restored, ", ")) or "",
  r.gap and string.format("; stop-first gap %.2f s (no route: requests failed meanwhile)", r.gap) or ""))
