--- claw.notices: a policy's notifications, shared by notify-only.lua, rolling.lua and
-- canary.lua: the --notify URLs checked before anything happens, one message sent to
-- every target, and the outcomes of an update run as one message.
--
--   local notices = require "claw.notices"
--   local targets = notices.targets(spec, opts.notify)   -- usage error for a bad URL
--   ...
--   local unsent = notices.outcomes(targets, results)   -- results of R.update & co.
local args = require "claw.args"
local docker = require "claw.docker"
local image = require "claw.image"
local log = require "claw.log"
local notify = require "claw.notify"
local templates = require "claw.notify_templates"

local M = {}

--- The URLs of --notify (a list; default: $CLAWENGINE_NOTIFY), each parsed: one
-- that cannot be used is a usage error (exit 2) that names it, secrets masked.
function M.targets(spec, urls)
  local targets = notify.targets(urls and #urls > 0 and urls or nil)
  for _, url in ipairs(targets) do
    local target, err = notify.parse(url)
    if not target then args.fail(spec, "--notify %s: %s", notify.mask(url), err.message) end
  end
  return targets
end

--- Sends one message to every target and logs each; `fields` go into the log line.
-- Returns how many targets it could not be sent to.
function M.send(targets, subject, text, fields)
  local unsent = 0
  for _, url in ipairs(targets) do
    local ok, err = notify.send(url, { subject = subject, text = text })
    local line = { target = notify.mask(url) }
    for k, v in pairs(fields or {}) do line[k] = v end
    if ok then
      log.info("notified", line)
    else
      unsent = unsent + 1
      line.reason = err.message
      log.error("notification not sent", line)
    end
  end
  return unsent
end

-- { tag =, digest =, version = } of an image, for the outcome template.
local function version_of(ref, id)
  local v = { tag = templates.tag_of(ref) }
  local img = id and docker.image(id)
  if img then
    local labels = img.Config and img.Config.Labels or {}
    v.version = labels["org.opencontainers.image.version"]
    v.digest = image.digest(img, ref)
  end
  return v
end

-- What a target's outcome is called in claw.notify_templates.outcome.
local STATUS = { updated = "updated", ["rolled back"] = "rolled_back", skipped = "skipped" }

--- One message with the outcome of every target of an update run that did
-- something (not those up to date), through the "outcome" template. Results are
-- those of R.update: { name =, outcome =, reason =, old_ref =, image =,
-- old_image =, new_image =, duration = }. Returns how many targets it could not
-- be sent to (0 when there is nothing to say).
function M.outcomes(targets, results)
  local list = {}
  for _, r in ipairs(results) do
    if r.outcome ~= "up to date" and r.outcome ~= "planned" then
      local reason = r.reason
      if not STATUS[r.outcome] and r.outcome ~= "failed" then -- "rollback failed", "paused"
        reason = r.outcome .. (reason and (": " .. reason) or "")
      end
      list[#list + 1] = { container = r.name, status = STATUS[r.outcome] or "failed", reason = reason,
        from = version_of(r.old_ref, r.old_image), to = r.new_image and version_of(r.image, r.new_image),
        duration = r.duration }
    end
  end
  if #list == 0 or #targets == 0 then return 0 end
  local subject, text = templates.outcome(list)
  return M.send(targets, subject, text, { targets = #list })
end

return M
