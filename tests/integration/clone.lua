-- docker.clone against a container made with many `docker create` flags: the clone's
-- inspect must match the original's field for field, but for image and ID.
-- arg[1]: "same" (clone with the same image) or "upgrade" (with $GW:v2, the suite's tag of
-- the fixture image)
package.path = "../lua/?.lua;" .. package.path
local t = require "t"
local docker = require "claw.docker"
local json = require "claw.json"

local mode = arg[1]
local gw = assert(os.getenv("GW"), "GW: the suite's image repository")
local old = assert(docker.inspect("claw-it-rich"))
local spec = assert(docker.clone("claw-it-rich", {
  name = "claw-it-rich-clone", image = mode == "upgrade" and gw .. ":v2" or nil }))
local new_id = assert(docker.create(spec))
local new = assert(docker.inspect(new_id))

local function set(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

local function without(tbl, ...)
  local c = {}
  for k, v in pairs(tbl or {}) do c[k] = v end
  for _, k in ipairs { ... } do c[k] = nil end
  return c
end

t.test("Config matches but for the image", function()
  -- Volumes: the anonymous volume is now mounted by name, so Docker no longer lists
  -- it there (the Mounts test below checks the same volume is mounted).
  local skip = { "Image", "Env", "Labels", "Volumes" }
  t.eq(without(new.Config, table.unpack(skip)), without(old.Config, table.unpack(skip)))
  t.eq(new.Config.Hostname, "gwhost")
  t.eq(new.Config.MacAddress, "02:42:ac:1e:00:0a")
end)

t.test("Env and labels: the user's kept, the image's own from the new image", function()
  local env = set(new.Config.Env)
  t.ok(env["FOO=bar"] and env["APP_VERSION=custom"], "user env kept: " .. json.encode(new.Config.Env))
  local want_env = set(old.Config.Env)
  if mode == "same" then t.eq(env, want_env) end
  local labels = new.Config.Labels
  t.eq(labels["com.docker.compose.project"], "demo")
  t.eq(labels["com.docker.compose.service"], "gateway")
  t.eq(labels["custom"], "1")
  t.eq(labels["org.opencontainers.image.version"], mode == "upgrade" and "2.0.0" or "1.0.0")
  t.eq(without(labels, "org.opencontainers.image.version"),
    without(old.Config.Labels, "org.opencontainers.image.version"))
end)

t.test("Image is the requested one", function()
  t.eq(new.Config.Image, gw .. (mode == "upgrade" and ":v2" or ":v1"))
  t.ok(new.Id ~= old.Id, "a new container")
end)

t.test("HostConfig matches; the anonymous volume is carried over by name", function()
  local anon
  for _, m in ipairs(old.Mounts) do
    if m.Destination == "/anon" then anon = m.Name end
  end
  t.ok(anon, "old container has an anonymous volume")
  local want = without(old.HostConfig, "Binds")
  t.eq(without(new.HostConfig, "Binds"), want)
  local binds = set(old.HostConfig.Binds)
  binds[anon .. ":/anon"] = true
  t.eq(set(new.HostConfig.Binds), binds)
end)

t.test("Mounts: same volumes, binds and tmpfs", function()
  local function mounts(c)
    local s = {}
    for _, m in ipairs(c.Mounts) do
      s[#s + 1] = table.concat({ m.Type, m.Name or m.Source, m.Destination, tostring(m.RW) }, " ")
    end
    table.sort(s)
    return s
  end
  t.eq(mounts(new), mounts(old))
end)

t.test("Networks: static IPs and aliases on both networks", function()
  local function nets(c)
    local s = {}
    local short = c.Id:sub(1, 12)
    for name, ep in pairs(c.NetworkSettings.Networks) do
      local aliases = {}
      for _, a in ipairs(ep.Aliases or {}) do if a ~= short then aliases[#aliases + 1] = a end end
      table.sort(aliases)
      s[name] = { ipam = ep.IPAMConfig, aliases = aliases }
    end
    return s
  end
  local n = nets(new)
  t.eq(n, nets(old))
  t.eq(n["claw-it-net"].ipam.IPv4Address, "172.30.0.10")
  t.eq(n["claw-it-macvlan"].ipam.IPv4Address, "172.31.0.20")
  t.eq(n["claw-it-net"].aliases, { "gw-alias" })
end)

t.test("started, the clone has the static IPs and the MAC address", function()
  assert(docker.start(new_id))
  local live = assert(docker.inspect(new_id))
  local nets = live.NetworkSettings.Networks
  t.eq(nets["claw-it-net"].IPAddress, "172.30.0.10")
  t.eq(nets["claw-it-net"].MacAddress, "02:42:ac:1e:00:0a")
  t.eq(nets["claw-it-macvlan"].IPAddress, "172.31.0.20")
  assert(docker.remove(new_id, { force = true }))
end)

return t.done()
