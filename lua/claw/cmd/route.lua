-- `clawengine route ...`: shows and changes the daemon's routes (claw.route).
local args = require "claw.args"
local engine = require "claw.engine"
local fmt = require "claw.fmt"
local json = require "claw.json"
local route = require "claw.route"
local health = require "claw.health"

local usage = [[clawengine route COMMAND [ARGS] [--admin PATH]

Commands:
  list [--json]                          routes, backends, state and counters
  create ROUTE --listen ADDR... --port PORT --container NAME [--sticky]
  delete ROUTE
  add ROUTE CONTAINER [--weight PERCENT] a backend (standby unless it is the first)
  weight ROUTE CONTAINER=PERCENT... [--sticky | --no-sticky]
  switch ROUTE CONTAINER                 every new connection to CONTAINER
  drain ROUTE CONTAINER [--timeout S]    no new connections; wait for the open ones
  remove ROUTE CONTAINER
  rename ROUTE CONTAINER NEW-NAME        the container was renamed; its connections stay
  pause ROUTE [--timeout S] [--holder H] new connections wait (default 30 s at most)
  resume ROUTE [--holder H | --all]      ends that pause (--all: every one); when none
                                         is left, the connections they held go on
  resolve CONTAINER PORT                 the address the daemon forwards to (it asks this)]]

local spec = {
  usage = usage,
  options = {
    { "admin", value = "PATH", help = "the daemon's admin socket" },
    { "json", help = "list: print JSON" },
    { "listen", value = "ADDR", list = true, help = "create: an address to listen on" },
    { "port", value = "PORT", number = true, help = "create: the containers' port" },
    { "container", value = "NAME", help = "create: the container serving the route" },
    { "weight", value = "PERCENT", number = true, help = "add: its share of new connections" },
    { "timeout", value = "SECONDS", number = true, help = "drain, pause: the deadline" },
    { "sticky", help = "keep a client address on one backend" },
    { "no-sticky", help = "spread a client's connections" },
    { "holder", value = "NAME", help = "pause, resume: whose pause (default: none named)" },
    { "all", help = "resume: end every pause of the route, whoever holds it" },
  },
}
local opts, words = args.parse(arg, spec)
local cmd = table.remove(words, 1)
local o = { admin = opts.admin }

local function need(n, what)
  if #words ~= n then args.fail(spec, "route %s: expected %s", cmd, what) end
end

local function check_holder()
  if opts.holder and not opts.holder:match("^[%w][%w_.-]*$") then
    args.fail(spec, "route %s: --holder %q is not a name (a letter or digit, then letters, digits, '_', '.' and '-')",
      cmd, opts.holder)
  end
end

local function check_timeout(what)
  if opts.timeout and not (opts.timeout >= 0 and opts.timeout <= 86400) then
    args.fail(spec, "route %s: --timeout must be seconds from 0 to 86400, not %s", what, opts.timeout)
  end
end

local function print_list(routes)
  if opts.json or engine.json then
    io.write(json.encode(routes), "\n")
    return
  end
  local rows = {}
  for _, r in ipairs(routes) do
    local name = r.name
    if r.paused then
      local by = {}
      for i, h in ipairs(r.pauses or {}) do
        by[i] = string.format("%s %.0f s", h.holder ~= "" and h.holder or "-", h.left)
      end
      name = string.format("%s (paused: %s; %d held)", r.name, table.concat(by, ", "), r.held)
    end
    if #r.backends == 0 then
      rows[#rows + 1] = { name, table.concat(r.listen, ","), "-", "-", "-", "-", "0", "0", "0", "0", "0", "0" }
    end
    for _, b in ipairs(r.backends) do
      rows[#rows + 1] = { name, table.concat(r.listen, ","), b.container, b.address,
        tostring(b.weight), b.state, tostring(b.active), tostring(b.total),
        tostring(b.connect_failures), tostring(b.resets), tostring(b.bytes_in), tostring(b.bytes_out) }
    end
  end
  io.write(fmt.table({ "ROUTE", "LISTEN", "BACKEND", "ADDRESS", "WEIGHT", "STATE", "ACTIVE",
    "TOTAL", "FAILED", "RESETS", "BYTES_IN", "BYTES_OUT" }, rows))
end

local result, err
if cmd == "list" then
  need(0, "no arguments")
  result, err = route.list(o)
  if result then print_list(result) end
elseif cmd == "create" then
  need(1, "ROUTE")
  if #opts.listen == 0 or not opts.port or not opts.container then
    args.fail(spec, "route create: --listen, --port and --container are required")
  end
  result, err = route.create(words[1], { listen = opts.listen, port = opts.port,
    container = opts.container, sticky = opts.sticky or false, admin = opts.admin })
elseif cmd == "delete" then
  need(1, "ROUTE")
  result, err = route.delete(words[1], o)
elseif cmd == "add" then
  need(2, "ROUTE CONTAINER")
  local w = opts.weight
  if w and (w ~= math.floor(w) or w < 0 or w > 100) then
    args.fail(spec, "route add: --weight must be an integer from 0 to 100, not %s", w)
  end
  result, err = route.add(words[1], words[2], { weight = opts.weight, admin = opts.admin })
elseif cmd == "weight" then
  if #words < 2 then args.fail(spec, "route weight: expected ROUTE CONTAINER=PERCENT...") end
  local weights = {}
  for i = 2, #words do
    local name, pct = words[i]:match("^([^=]+)=(%d+)$")
    if not name then args.fail(spec, "route weight: %q is not CONTAINER=PERCENT", words[i]) end
    weights[name] = tonumber(pct)
  end
  local sticky
  if opts.sticky then sticky = true elseif opts.no_sticky then sticky = false end
  result, err = route.weight(words[1], weights, { sticky = sticky, admin = opts.admin })
elseif cmd == "switch" or cmd == "remove" then
  need(2, "ROUTE CONTAINER")
  result, err = route[cmd](words[1], words[2], o)
elseif cmd == "rename" then
  need(3, "ROUTE CONTAINER NEW-NAME")
  result, err = route.rename(words[1], words[2], words[3], o)
elseif cmd == "drain" then
  need(2, "ROUTE CONTAINER")
  check_timeout("drain")
  result, err = route.drain(words[1], words[2], { timeout = opts.timeout, admin = opts.admin })
  if type(result) == "number" and result > 0 then
    io.stderr:write(string.format("%d connection(s) closed at the deadline\n", result))
  end
elseif cmd == "pause" then
  need(1, "ROUTE")
  check_timeout("pause")
  check_holder()
  if opts.all then args.fail(spec, "route pause: --all is for resume") end
  result, err = route.pause(words[1], { timeout = opts.timeout, holder = opts.holder, admin = opts.admin })
elseif cmd == "resume" then
  need(1, "ROUTE")
  if opts.all and opts.holder then args.fail(spec, "route resume: --holder or --all, not both") end
  check_holder()
  result, err = route.resume(words[1], { holder = opts.holder, all = opts.all, admin = opts.admin })
  if type(result) == "number" and result > 0 then
    io.stderr:write(string.format("route %s stays paused: %d pause(s) of other holders left "
      .. "(`clawengine route list` names them; `clawengine route resume %s --all` ends them)\n",
      words[1], result, words[1]))
  end
elseif cmd == "resolve" then
  -- The daemon does not talk to Docker itself (it maps no libcurl, to stay small):
  -- it runs `clawengine --json route resolve` and reads the one line this prints.
  need(2, "CONTAINER PORT")
  local port = tonumber(words[2])
  if not port or port ~= math.floor(port) or port < 1 or port > 65535 then
    args.fail(spec, "route resolve: %q is not a port number", words[2])
  end
  result, err = health.url("{host}:{port}", words[1], { port = port })
  if engine.json then
    io.write(json.encode(result and { ok = true, address = result }
      or { ok = false, code = err.code, error = err.message }), "\n")
    return result and 0 or args.exit_code(err)
  end
  if result then print(result) end
elseif cmd == nil then
  args.fail(spec, "route: no command given")
else
  args.fail(spec, "route: unknown command %q", cmd)
end

if err then
  io.stderr:write("clawengine: route ", cmd, ": ", err.message, "\n")
  return args.exit_code(err)
end
