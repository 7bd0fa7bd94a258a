--- claw.notify_templates: the default texts of notifications, written in Lua so a
-- site can read and replace them. Each template takes one table and returns
-- subject, text; notify.send(url, { template = "updates", data = report }) uses them.
--
-- Replace one for a whole run from a policy (or a module it requires):
--   local templates = require "claw.notify_templates"
--   templates.updates = function(report) return "Updates", "..." end
-- or pass a function for one message: notify.send(url, { template = fn, data = x }).
--
-- updates(report), for "updates available":
--   report = {
--     host = "gw1",                          -- optional; shown in the subject
--     command = "clawengine run policies/rolling.lua %s",  -- optional; %s = the name
--     containers = {
--       { name = "openclaw-gateway", image = "openclaw/gateway:latest",
--         current = { tag = "latest", digest = "sha256:...", version = "2026.9.5" },
--         new     = { tag = "latest", digest = "sha256:...", version = "2026.9.6" } },
--     },
--   }
--
-- outcome(result), for what an update did (or a list of such results):
--   result = { container = "openclaw-gateway", host = "gw1",
--              status = "updated" | "rolled_back" | "failed",
--              from = { tag =, digest =, version = }, to = { tag =, digest =, version = },
--              reason = "health check failed: ...",  -- for rolled_back and failed
--              duration = 42.5 }                     -- seconds, optional
local fmt = require "claw.fmt"

local M = {}

M.command = "clawengine run policies/rolling.lua %s"

--- The tag of an image reference ("latest" when it has none; nil for a non-string).
function M.tag_of(image)
  if type(image) ~= "string" then return nil end
  local name = image:gsub("@.*$", "")
  return name:match(":([%w_.%-]+)$") or "latest"
end
local tag_of = M.tag_of

--- "latest sha256:0123456789ab (version 2026.9.5)" from { tag =, digest =, version = }.
function M.describe(v, image)
  if type(v) ~= "table" then return "-" end
  local parts = {}
  local tag = v.tag or tag_of(image)
  if tag then parts[#parts + 1] = tag end
  if v.digest then parts[#parts + 1] = fmt.short_digest(v.digest) end
  if #parts == 0 then return v.version and ("version " .. v.version) or "-" end
  local s = table.concat(parts, " ")
  if v.version then s = s .. " (version " .. v.version .. ")" end
  return s
end

local function on_host(host)
  return host and host ~= "" and (" on " .. host) or ""
end

function M.updates(report)
  local list = report.containers or {}
  local n = #list
  local subject
  if n == 0 then
    subject = "clawengine: no updates available" .. on_host(report.host)
  elseif n == 1 then
    subject = "clawengine: 1 update available" .. on_host(report.host) .. ": " .. tostring(list[1].name)
  else
    subject = string.format("clawengine: %d updates available%s", n, on_host(report.host))
  end
  if n == 0 then return subject, "Every container runs its newest image.\n" end
  local command = report.command or M.command
  local out = {}
  out[#out + 1] = string.format("%s%s:", n == 1 and "An update is available" or n .. " updates are available",
    on_host(report.host))
  for _, c in ipairs(list) do
    out[#out + 1] = ""
    out[#out + 1] = string.format("%s (%s)", tostring(c.name), tostring(c.image or "?"))
    out[#out + 1] = "  running: " .. M.describe(c.current, c.image)
    out[#out + 1] = "  new:     " .. M.describe(c.new, c.image)
    out[#out + 1] = "  update:  " .. string.format(command, tostring(c.name))
  end
  return subject, table.concat(out, "\n") .. "\n"
end

local WORDS = { updated = "updated", rolled_back = "rolled back", failed = "update failed" }
local COUNTED = { updated = "updated", rolled_back = "rolled back", failed = "failed" }

local function one_outcome(r)
  local name = tostring(r.container or r.name or "?")
  local status = r.status or "?"
  local lines = { string.format("%s: %s", name, WORDS[status] or status) }
  if r.from then lines[#lines + 1] = "  from:   " .. M.describe(r.from, r.image) end
  if r.to then
    lines[#lines + 1] = (status == "updated" and "  to:     " or "  tried:  ") .. M.describe(r.to, r.image)
  end
  if r.reason then lines[#lines + 1] = "  reason: " .. tostring(r.reason) end
  if r.duration then lines[#lines + 1] = "  took:   " .. fmt.duration(r.duration) end
  return lines
end

local function short(v)
  if type(v) ~= "table" then return nil end
  return v.version or v.tag and v.digest and (v.tag .. " " .. fmt.short_digest(v.digest)) or v.tag
    or v.digest and fmt.short_digest(v.digest)
end

function M.outcome(result)
  local list = result[1] and result or { result }
  local host = result.host or list[1].host
  local subject
  if #list == 1 then
    local r = list[1]
    local name = tostring(r.container or r.name or "?")
    if r.status == "updated" then
      local to = short(r.to)
      subject = string.format("clawengine: %s updated%s%s", name, to and (" to " .. to) or "", on_host(host))
    elseif r.status == "rolled_back" then
      subject = string.format("clawengine: %s rolled back%s%s", name, on_host(host),
        r.reason and (": " .. tostring(r.reason)) or "")
    else
      subject = string.format("clawengine: %s update failed%s%s", name, on_host(host),
        r.reason and (": " .. tostring(r.reason)) or "")
    end
  else
    local counts, order = {}, { "updated", "rolled_back", "failed" }
    for _, r in ipairs(list) do
      local s = tostring(r.status)
      if not counts[s] and not COUNTED[s] then order[#order + 1] = s end
      counts[s] = (counts[s] or 0) + 1
    end
    local parts = {}
    for _, s in ipairs(order) do
      if counts[s] then parts[#parts + 1] = string.format("%d %s", counts[s], COUNTED[s] or s) end
    end
    subject = "clawengine: " .. table.concat(parts, ", ") .. on_host(host)
  end
  local out = {}
  for i, r in ipairs(list) do
    if i > 1 then out[#out + 1] = "" end
    for _, l in ipairs(one_outcome(r)) do out[#out + 1] = l end
  end
  return subject, table.concat(out, "\n") .. "\n"
end

return M
