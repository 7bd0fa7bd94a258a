--- claw.args: command-line parsing for policies.
--
--   local args = require "claw.args"
--   local opts, rest = args.parse(arg, {
--     usage = "clawengine run policies/status.lua [OPTIONS] [NAME...]",
--     options = {
--       { "all", short = "a", help = "include stopped containers" },
--       { "label", value = "KEY=VALUE", list = true, help = "only containers with this label" },
--       { "timeout", value = "SECONDS", number = true, default = 60 },
--     },
--   })
--
-- An option without `value` is a flag (true when given). `list = true` collects
-- every occurrence in order; `number = true` converts and checks the value.
-- `--name=value` and `--name value` are both accepted; `--` ends the options.
-- A usage error raises { code = "usage", message = ... }: the engine prints the
-- message and exits with status 2. `--help` prints the help and exits with 0.
local args = {}

local function usage_error(spec, fmt, ...)
  local msg = string.format(fmt, ...)
  error(setmetatable({ code = "usage",
    message = string.format("%s\nusage: %s", msg, spec.usage or "see --help") },
    { __tostring = function(e) return e.message end }), 0)
end

local function help_text(spec)
  local lines = { "usage: " .. (spec.usage or ""), "" }
  if spec.description then lines[#lines + 1] = spec.description .. "\n" end
  lines[#lines + 1] = "Options:"
  for _, o in ipairs(spec.options or {}) do
    local names = (o.short and ("-" .. o.short .. ", ") or "    ") .. "--" .. o[1]
    if o.value then names = names .. " " .. o.value end
    local help = o.help or ""
    if o.default ~= nil then help = help .. " (default " .. tostring(o.default) .. ")" end
    lines[#lines + 1] = string.format("  %-28s %s", names, help)
  end
  lines[#lines + 1] = string.format("  %-28s %s", "-h, --help", "show this help")
  return table.concat(lines, "\n") .. "\n"
end

local function find(spec, name, short)
  for _, o in ipairs(spec.options or {}) do
    if (short and o.short == name) or (not short and o[1] == name) then return o end
  end
end

local function store(spec, opts, o, value)
  if o.number then
    local n = tonumber(value)
    if not n then usage_error(spec, "option --%s expects a number, got %q", o[1], value) end
    value = n
  end
  local key = o[1]:gsub("-", "_")
  if o.list then
    opts[key] = opts[key] or {}
    table.insert(opts[key], value)
  else
    opts[key] = value
  end
end

--- Parses `argv` (normally the global `arg`) against `spec`. Returns the options
-- (keys with "-" turned into "_") and the list of remaining arguments.
function args.parse(argv, spec)
  local opts, rest = {}, {}
  for _, o in ipairs(spec.options or {}) do
    local key = o[1]:gsub("-", "_")
    if o.list then opts[key] = {} elseif o.default ~= nil then opts[key] = o.default end
  end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      table.move(argv, i + 1, #argv, #rest + 1, rest)
      break
    elseif a == "-h" or a == "--help" then
      io.stdout:write(help_text(spec))
      os.exit(0, true)
    elseif a:sub(1, 2) == "--" then
      local name, inline = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o = find(spec, name)
      if not o then usage_error(spec, "unknown option --%s", name) end
      if o.value then
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
          if v == nil then usage_error(spec, "option --%s needs a value (%s)", name, o.value) end
        end
        store(spec, opts, o, v)
      elseif inline ~= nil then
        usage_error(spec, "option --%s takes no value", name)
      else
        opts[name:gsub("-", "_")] = true
      end
    elseif a:match("^%-%a") then
      local o = find(spec, a:sub(2, 2), true)
      if not o then usage_error(spec, "unknown option %s", a) end
      if o.value then
        local v = #a > 2 and a:sub(3) or argv[i + 1]
        if #a == 2 then i = i + 1 end
        if v == nil then usage_error(spec, "option -%s needs a value (%s)", o.short, o.value) end
        store(spec, opts, o, v)
      else
        opts[o[1]:gsub("-", "_")] = true
      end
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

--- Raises a usage error (exit status 2) from policy code.
function args.fail(spec, fmt, ...)
  usage_error(spec, fmt, ...)
end

--- The exit status for a failure with error `err` (docs/cli.md): 4 when Docker or the
-- daemon cannot be reached, 130 when interrupted, else 1.
function args.exit_code(err)
  local code = type(err) == "table" and err.code
  return code == "unreachable" and 4 or code == "interrupted" and 130 or 1
end

--- Says "clawengine: MESSAGE" on stderr and exits with args.exit_code(err).
function args.die(err, fmt, ...)
  io.stderr:write("clawengine: ", string.format(fmt, ...), "\n")
  os.exit(args.exit_code(err), true)
end

return args
