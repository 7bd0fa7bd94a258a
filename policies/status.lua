-- status.lua: lists containers with their image, image digest, state, health and
-- uptime. Changes nothing.
--
--   clawengine run policies/status.lua [--all] [--name NAME]... [--label KEY=VALUE]... [--json]
local args = require "claw.args"
local docker = require "claw.docker"
local engine = require "claw.engine"
local fmt = require "claw.fmt"
local image = require "claw.image"
local json = require "claw.json"
local time = require "claw.time"

local spec = {
  usage = "clawengine run policies/status.lua [OPTIONS] [NAME...]",
  description = "Lists containers with image, image digest, state, health and uptime.",
  options = {
    { "all", short = "a", help = "include stopped containers" },
    { "name", value = "NAME", list = true, help = "only containers whose name matches (repeatable)" },
    { "label", value = "KEY[=VALUE]", list = true, help = "only containers with this label (repeatable)" },
    { "json", help = "print a JSON array instead of a table" },
  },
}
local opts, names = args.parse(arg, spec)
table.move(names, 1, #names, #opts.name + 1, opts.name)

local list = assert(docker.containers {
  all = opts.all, name = #opts.name > 0 and opts.name or nil,
  label = #opts.label > 0 and opts.label or nil,
})

-- The digest a registry knows the image by (claw.image), once per image.
local digests = {}
local function digest_of(image_id, ref)
  if digests[image_id] == nil then digests[image_id] = image.digest(image_id, ref) or false end
  return digests[image_id] or nil
end

local now = time.now()
local out = {}
for _, c in ipairs(list) do
  local info = docker.inspect(c.Id) -- may vanish between the list and here
  if info then
    local state = info.State
    local started = state.Running and time.parse(state.StartedAt) or nil
    out[#out + 1] = {
      name = info.Name:gsub("^/", ""),
      id = info.Id,
      image = info.Config.Image,
      image_id = info.Image,
      digest = digest_of(info.Image, info.Config.Image),
      state = state.Status,
      health = state.Health and state.Health.Status or nil,
      started_at = state.Running and state.StartedAt or nil,
      uptime = started and math.floor(now - started) or nil,
    }
  end
end
table.sort(out, function(a, b) return a.name < b.name end)

if opts.json or engine.json then
  for i, c in ipairs(out) do
    for _, k in ipairs { "digest", "health", "started_at", "uptime" } do
      if c[k] == nil then c[k] = json.null end
    end
    out[i] = c
  end
  io.write(json.encode(json.array(out)), "\n")
else
  local rows = {}
  for _, c in ipairs(out) do
    rows[#rows + 1] = { c.name, c.image, fmt.short_digest(c.digest), c.state,
      c.health or "-", c.uptime and fmt.duration(c.uptime) or "-" }
  end
  if #rows == 0 then
    io.stderr:write("no containers match\n")
  else
    io.write(fmt.table({ "NAME", "IMAGE", "DIGEST", "STATE", "HEALTH", "UPTIME" }, rows))
  end
end
