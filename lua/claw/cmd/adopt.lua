-- `clawengine adopt CONTAINER --route NAME --listen ADDR`: moves a running container
-- that publishes a host port itself behind a route of the daemon, with the shortest
-- gap Docker allows, and says how long the gap was.
--
-- The steps, each undone when a later one fails:
--   1. checks, which change nothing: the container runs and publishes ADDR; the
--      route name and ADDR are free on the daemon; the names used below are free.
--   2. a copy (docker.clone without the host bindings of that container port) is
--      created as NAME-adopting, started, and waited for until healthy.
--   3. names: the original becomes NAME-pre-adopt and the copy NAME, while the
--      original still serves, so the route is made with its final backend name.
--   4. the switch-over: the original is sent its stop signal, and the route is
--      created every 2 ms until the address is free (Docker releases it as the
--      container exits, well before `docker stop` returns). The gap is the time from
--      the signal (Docker's kill event) to the route listening.
--   5. the original is waited for (its own stop timeout, then SIGKILL) and kept,
--      stopped, as NAME-pre-adopt for going back, with restart policy "no".
local args = require "claw.args"
local docker = require "claw.docker"
local engine = require "claw.engine"
local health = require "claw.health"
local log = require "claw.log"
local route = require "claw.route"
local time = require "claw.time"

local spec = {
  usage = "clawengine adopt CONTAINER --route NAME --listen ADDR [--listen ADDR]... [--port PORT]\n" ..
          "                        [--admin PATH] [--timeout SECONDS]",
  description = [[
Puts a running container that publishes ADDR itself behind a new route of the
running daemon: a copy without that host binding is started and waited for until
healthy, then the container is stopped and the daemon takes the address over. The
container keeps its name (the copy takes it); the original is kept, stopped, as
CONTAINER-pre-adopt. Prints the gap, during which the address answered nothing.
`clawengine --dry-run adopt ...` checks everything and prints the plan. See
docs/proxy.md.]],
  options = {
    { "route", value = "NAME", help = "the route to create (it must not exist)" },
    { "listen", value = "ADDR", list = true,
      help = "an address CONTAINER publishes (IP:PORT, [IPv6]:PORT); repeatable" },
    { "port", value = "PORT", number = true,
      help = "the container port the route forwards to (default: the one ADDR is published from)" },
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "timeout", value = "SECONDS", number = true,
      help = "how long the copy may take to become healthy (default: its healthcheck's own deadline, else 60)" },
  },
}

local opts, words = args.parse(arg, spec)
if #words == 0 then args.fail(spec, "adopt: no container given") end
if #words > 1 then args.fail(spec, "adopt: one container at a time (got %d)", #words) end
if not opts.route then args.fail(spec, "adopt: --route NAME is required") end
if not opts.route:match("^[%w_.-]+$") then
  args.fail(spec, "adopt: invalid route name %q (letters, digits, _, . and -)", opts.route)
end
if #opts.listen == 0 then args.fail(spec, "adopt: --listen ADDR is required") end
if opts.port and (opts.port ~= math.floor(opts.port) or opts.port < 1 or opts.port > 65535) then
  args.fail(spec, "adopt: --port must be a port number from 1 to 65535")
end
if opts.timeout and opts.timeout <= 0 then args.fail(spec, "adopt: --timeout must be above 0") end

-- IP:PORT or [IPv6]:PORT, as the daemon takes them.
local function parse_addr(text)
  local host, port = text:match("^%[([%x:.]+)%]:(%d+)$")
  local v6 = host ~= nil
  if not host then
    host, port = text:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
  end
  port = tonumber(port)
  if not host or port < 1 or port > 65535 then
    args.fail(spec, "adopt: invalid address %q (want IP:PORT or [IPv6]:PORT)", text)
  end
  return { text = text, host = host, port = port, v6 = v6 }
end

local listen, listen_text = {}, {}
for i, a in ipairs(opts.listen) do
  listen[i] = parse_addr(a)
  listen_text[i] = a
end
local where = table.concat(listen_text, ", ")
local admin = { admin = opts.admin }

-- Exits with a failure that changed nothing.
local function refuse(fmt, ...)
  io.stderr:write("clawengine: adopt: ", string.format(fmt, ...), "\n")
  os.exit(1, true)
end

local exit_code = args.exit_code

---------------------------------------------------------------- 1. checks

local c, err = docker.inspect(words[1])
if not c then
  io.stderr:write("clawengine: adopt: ", tostring(err), "\n")
  os.exit(exit_code(err), true)
end
local name = c.Name:gsub("^/", "")
local old_id = c.Id
local tmp_name, keep_name = name .. "-adopting", name .. "-pre-adopt"

if c.State.Paused then refuse("%s is paused", name) end
if not c.State.Running then refuse("%s is not running (%s)", name, c.State.Status) end

-- Its host bindings, as Docker made them: { cport = "18789/tcp", ip =, port = }.
local bindings = {}
for cport, list in pairs(type(c.NetworkSettings.Ports) == "table" and c.NetworkSettings.Ports or {}) do
  if type(list) == "table" then
    for _, b in ipairs(list) do
      bindings[#bindings + 1] = { cport = cport, ip = b.HostIp or "", port = tonumber(b.HostPort) }
    end
  end
end
table.sort(bindings, function(a, b)
  local na, nb = tonumber(a.cport:match("^%d+")), tonumber(b.cport:match("^%d+"))
  if na ~= nb then return na < nb end
  if a.cport ~= b.cport then return a.cport < b.cport end
  if a.ip ~= b.ip then return a.ip < b.ip end
  return (a.port or 0) < (b.port or 0)
end)

local function show(b)
  local ip = b.ip == "" and "0.0.0.0" or b.ip
  if ip:find(":", 1, true) then ip = "[" .. ip .. "]" end
  return string.format("%s:%s->%s", ip, tostring(b.port), b.cport)
end

-- A binding on all addresses (of the address's family) serves any address.
local function serves(b, a)
  if b.port ~= a.port or not b.cport:match("/tcp$") then return false end
  if b.ip == "" or b.ip == (a.v6 and "::" or "0.0.0.0") then return true end
  return b.ip == a.host
end

local cport
for _, a in ipairs(listen) do
  local found
  for _, b in ipairs(bindings) do
    if serves(b, a) then found = b break end
  end
  if not found then
    local shown = {}
    for i, b in ipairs(bindings) do shown[i] = show(b) end
    refuse("%s does not publish %s (it publishes %s)", name, a.text,
      #shown > 0 and table.concat(shown, ", ") or "no ports")
  end
  if cport and cport ~= found.cport then
    refuse("%s are published from different container ports (%s and %s): adopt one at a time",
      where, cport, found.cport)
  end
  cport = found.cport
  if found.ip == "" or found.ip == "0.0.0.0" or found.ip == "::" then
    if a.host ~= "0.0.0.0" and a.host ~= "::" then
      log.warn("the container publishes on all addresses; the route will listen on the given ones only",
        { published = show(found), listen = a.text })
    end
  end
end
-- The copy loses every binding of that port: each fixed one the user made must be
-- taken over (one on all addresses, which Docker splits into 0.0.0.0 and ::, by any
-- address with its port).
local port_bindings = type(c.HostConfig.PortBindings) == "table" and c.HostConfig.PortBindings or {}
for _, b in ipairs(type(port_bindings[cport]) == "table" and port_bindings[cport] or {}) do
  local hp, ip = tonumber(b.HostPort), b.HostIp or ""
  if hp and hp > 0 then
    local covered = false
    for _, a in ipairs(listen) do
      covered = covered or (a.port == hp and (ip == "" or ip == "0.0.0.0" or ip == "::" or ip == a.host))
    end
    if not covered then
      refuse("%s also publishes %s: give that address with another --listen, so the route takes it over too",
        name, show { cport = cport, ip = ip, port = hp })
    end
  end
end
-- The copy keeps the other bindings, and runs beside the original: a fixed host port
-- would be taken. A random one (-p 127.0.0.1::9090) is fine.
local configured = {}
for p, list in pairs(port_bindings) do
  if p ~= cport and type(list) == "table" then
    for _, b in ipairs(list) do
      local hp = tonumber(b.HostPort)
      if hp and hp > 0 then configured[#configured + 1] = { cport = p, ip = b.HostIp or "", port = hp } end
    end
  end
end
if #configured > 0 then
  table.sort(configured, function(a, b) return show(a) < show(b) end)
  refuse("%s also publishes %s: its copy could not start beside it (only %s moves to the route; " ..
    "other ports may be published on a random host port)", name, show(configured[1]), cport)
end
local port = opts.port or tonumber(cport:match("^(%d+)"))

for _, n in ipairs { tmp_name, keep_name } do
  if docker.inspect(n) then refuse("a container named %s exists already: remove or rename it first", n) end
end

local routes
routes, err = route.list(admin)
if not routes then
  io.stderr:write("clawengine: adopt: ", tostring(err), "\n")
  os.exit(exit_code(err), true)
end
for _, r in ipairs(routes) do
  if r.name == opts.route then refuse("route %q exists already", opts.route) end
  for _, l in ipairs(r.listen) do
    for _, a in ipairs(listen) do
      if l == a.text then refuse("route %q listens on %s already", r.name, a.text) end
    end
  end
end

local restart_policy = c.HostConfig.RestartPolicy and c.HostConfig.RestartPolicy.Name or "no"
local stop_signal = c.Config.StopSignal or "SIGTERM"
local stop_timeout = c.Config.StopTimeout or 10

if engine.dry_run then
  io.write(string.format([[
plan: adopt %s behind route %s on %s
  1. create and start %s: a copy of %s without its host bindings of %s
  2. wait until it is healthy (%s), then check %s accepts connections on port %d
  3. rename %s to %s and %s to %s
  4. send %s %s (SIGKILL after %g s) and create route %s on %s, forwarding to port %d of %s,
     as soon as Docker frees the address
  5. wait until %s has stopped, and keep it for going back
dry-run: nothing changed
]], name, opts.route, where, tmp_name, name, cport,
    (c.Config.Healthcheck and c.Config.Healthcheck.Test and c.Config.Healthcheck.Test[1] ~= "NONE")
      and "its Docker healthcheck" or "a TCP probe", tmp_name, port,
    name, keep_name, tmp_name, name, name, stop_signal, stop_timeout, opts.route, where, port,
    name, keep_name))
  return 0
end

---------------------------------------------------------------- 2-5. the change

-- What has been done, so that undo knows what to take back.
local done = {}

-- Raises a step's failure: { step = "what failed", err = the error }.
local function step(what, ok, e)
  if ok then return ok end
  error({ step = what, err = e }, 0)
end

local function mono_ms(t0) return (time.monotonic() - t0) * 1000 end

-- Waits until the original has stopped: its own stop timeout from the signal, then
-- SIGKILL.
local function wait_stopped(since)
  local left = math.max(stop_timeout - (time.monotonic() - since), 0) + 0.5
  local code, e = docker.wait(old_id, { timeout = left })
  if code then return code end
  if e.code ~= "timeout" then return nil, e end
  log.warn("the old container did not stop in time: sending SIGKILL", { container = keep_name })
  docker.kill(old_id, { signal = "SIGKILL" })
  return docker.wait(old_id, { timeout = 10 })
end

local function is_healthcheck(hc)
  return type(hc) == "table" and type(hc.Test) == "table" and hc.Test[1] and hc.Test[1] ~= "NONE"
end

local function adopt()
  local sp = step("cannot copy " .. name, docker.clone(old_id, { name = tmp_name, unpublish = { cport } }))
  done.clone = step("cannot create " .. tmp_name, docker.create(sp))
  log.info("created the copy without the host binding", { container = tmp_name, unpublished = cport })
  step("cannot start " .. tmp_name, docker.start(done.clone))

  local t0 = time.monotonic()
  local inspect = step("cannot inspect " .. tmp_name, docker.inspect(done.clone))
  local has_hc = is_healthcheck(inspect.Config.Healthcheck)
  if has_hc then
    step(tmp_name .. " did not become healthy",
      docker.wait_healthy(done.clone, { timeout = opts.timeout }))
  end
  -- The daemon reaches it on its address: that must accept connections.
  local addr = step("cannot find the address of " .. tmp_name,
    health.url("{host}:{port}", done.clone, { port = port }))
  step(tmp_name .. " does not accept connections on port " .. port,
    health.wait({ tcp = addr, timeout = 1 }, { timeout = has_hc and 5 or opts.timeout or 60 }))
  log.info("the copy is ready", { container = tmp_name, address = addr,
    check = has_hc and "docker healthcheck" or "tcp", seconds = string.format("%.1f", time.monotonic() - t0) })

  step("cannot rename " .. name .. " to " .. keep_name, docker.rename(old_id, keep_name))
  done.renamed_old = true
  step("cannot rename " .. tmp_name .. " to " .. name, docker.rename(done.clone, name))
  done.renamed_clone = true

  -- The switch-over. The original closes its listener when signalled; Docker's
  -- proxy holds the address until the container has exited.
  local signalled, signalled_at = time.monotonic(), time.now()
  done.signalled = signalled
  step("cannot send " .. stop_signal .. " to " .. keep_name, docker.kill(old_id, { signal = stop_signal }))
  local attempts, killed = 0, false
  while true do
    attempts = attempts + 1
    local ok, e = route.create(opts.route, { listen = listen_text, port = port, container = name,
      admin = opts.admin })
    if ok then break end
    if type(e) ~= "table" or not tostring(e.message):find("Address already in use", 1, true) then
      step("cannot create route " .. opts.route, nil, e)
    end
    local waited = time.monotonic() - signalled
    if not killed and waited > stop_timeout then
      log.warn("the old container did not stop in time: sending SIGKILL", { container = keep_name })
      docker.kill(old_id, { signal = "SIGKILL" })
      killed = true
    elseif waited > stop_timeout + 10 then
      step(string.format("%s was still in use %.0f s after stopping %s", where, waited, name), nil, e)
    end
    time.sleep(0.002)
  end
  local most, listening_at = mono_ms(signalled), time.now()
  done.route = true
  log.info("the route listens", { route = opts.route, listen = where, attempts = attempts,
    ms_since_kill_call = string.format("%.0f", most) })

  local code, e = wait_stopped(signalled)
  step(keep_name .. " did not stop", code, e)
  log.info("the old container stopped", { container = keep_name, exit_code = code,
    ms = string.format("%.0f", mono_ms(signalled)) })
  -- Kept stopped for good: with restart "always", dockerd would start it again at
  -- its own restart, and it would take the address from the route.
  if restart_policy ~= "no" and restart_policy ~= "" then
    step("cannot set the restart policy of " .. keep_name .. " to no",
      docker.update(old_id, { RestartPolicy = { Name = "no" } }))
    done.unrestarted = true
  end

  -- The gap starts when Docker delivered the signal, which it records as the kill
  -- event; the kill call itself can take tens of milliseconds on a busy host, while
  -- the original still serves. Without the event: from the call.
  local gap = most
  local iter, s1, s2, closing = docker.events {
    filters = { container = { old_id }, type = { "container" }, event = { "kill" } },
    since = signalled_at - 1, ["until"] = time.now(), timeout = 5 }
  if iter then
    for ev in iter, s1, s2, closing do
      if ev.timeNano and ev.timeNano / 1e9 >= signalled_at - 0.01 then
        gap = math.min(most, math.max(0, (listening_at - ev.timeNano / 1e9) * 1000))
        break
      end
    end
  end
  return gap
end

-- Takes back what was done, newest first; returns the problems met.
local function undo()
  local problems = {}
  local function try(what, ok, e)
    if not ok then problems[#problems + 1] = what .. ": " .. tostring(e) end
  end
  if done.route then try("delete route " .. opts.route, route.delete(opts.route, admin)) end
  if done.clone then try("remove the copy", docker.remove(done.clone, { force = true })) end
  if done.renamed_old then try("rename " .. keep_name .. " back", docker.rename(old_id, name)) end
  if done.unrestarted then
    try("restore the restart policy of " .. name, docker.update(old_id, { RestartPolicy = c.HostConfig.RestartPolicy }))
  end
  if done.signalled then
    -- It may still be stopping: let it finish, then start it; it publishes again.
    local ok, e = wait_stopped(done.signalled)
    try("wait for " .. name .. " to stop", ok, e)
    if ok then try("start " .. name .. " again", docker.start(old_id)) end
  end
  return problems
end

local ok, result = pcall(adopt)
if ok then
  io.write(string.format("adopted %s behind route %s on %s: gap %.0f ms\n", name, opts.route, where, result))
  if done.unrestarted then
    io.write(string.format("%s is kept stopped with restart policy no (it had %s; the adopted %s has it)\n",
      keep_name, restart_policy, name))
  end
  return 0
end

local failure = type(result) == "table" and result.step and result or { err = result }
local fe = failure.err
local interrupted = type(fe) == "table" and fe.code == "interrupted"
if not interrupted then -- the engine reports an interrupt itself, after the undo
  io.stderr:write("clawengine: adopt: ", failure.step and (failure.step .. ": ") or "", tostring(fe), "\n")
end
local problems = undo()
if #problems == 0 then
  io.stderr:write("clawengine: adopt: undone: ", name,
    done.signalled and (" runs again and publishes " .. where) or " is unchanged", "\n")
else
  io.stderr:write("clawengine: adopt: undo incomplete: ", table.concat(problems, "; "), "\n")
end
if interrupted then error(fe, 0) end
return exit_code(fe)
