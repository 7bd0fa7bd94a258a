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
-- backups. Without a route the update is stop-first. --notify sends the outcome.
-- See docs/rolling.md.
--
-- The phases are building blocks of lua/claw/rollout.lua; R.update composes them:
--   R.prepare -> R.fetch (pull, compare) -> R.begin (journal, backups)
--   -> R.start_new (NAME-next, :rollback while it starts, health gate) -> R.switch -> R.monitor
--   -> R.promote (retire, :stable)   or, on any failure, R.failed (undo)
-- A site policy can pass its own function to R.run_groups instead of R.update.
--
-- Exit codes: 0 every target updated or up to date; 1 one failed (its outcome says
-- whether it was rolled back); 2 usage; 3 policy error; 4 Docker unreachable. A
-- notification that cannot be sent is said on stderr and does not change them.
local args = require "claw.args"
local R = require "claw.rollout"

local spec = {
  usage = "clawengine run policies/rolling.lua [OPTIONS] NAME... | --label KEY=VALUE | --compose FILE [SERVICE...]",
  description = "Updates containers to a new image, health-gated, with rollback.",
  options = R.options { "image", "label", "compose", "backup", "backup-volume", "health", "expect", "port",
    "timeout", "monitor", "order", "failure-action", "drain-timeout", "route", "admin", "no-pull", "cleanup",
    "notify", "json" },
}
local opts, names = args.parse(arg, spec)
R.check_options(spec, opts, names)
local groups = R.groups(spec, opts, names)

local results, failures = R.run_groups(groups, R.update)
R.report(results, opts)
if failures > 0 then return 1 end
