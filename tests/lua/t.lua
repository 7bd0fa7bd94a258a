-- A small test kit for Lua tests run by the engine itself:
--   local t = require "t"
--   t.test("name", function() t.eq(1 + 1, 2) end)
--   return t.done()
-- t.done() prints "N passed, N failed" and returns the exit status.
local t = { passed = 0, failed = 0 }

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. show(x) end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end
t.show = show

local function deep_eq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
t.deep_eq = deep_eq

function t.eq(got, want, what)
  if not deep_eq(got, want) then
    error(string.format("%s: got %s, want %s", what or "value", show(got), show(want)), 2)
  end
end

function t.ok(v, what)
  if not v then error((what or "expected a true value") .. ", got " .. show(v), 2) end
  return v
end

--- Calls fn(...) expecting an error whose message equals `want` (or matches it when
-- want starts with "~").
function t.raises(want, fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("expected an error: " .. want, 2) end
  local msg = type(e) == "table" and tostring(e.message) or tostring(e)
  local match = want:sub(1, 1) == "~" and msg:find(want:sub(2)) or msg == want
  if not match then error(string.format("error %q, want %q", msg, want), 2) end
  return e
end

--- Expects nil, err with err.code == code and err.message == message (or a "~pattern").
function t.fails(code, message, v, err)
  if v ~= nil then error("expected nil, err; got " .. show(v), 2) end
  if type(err) ~= "table" then error("expected an error table, got " .. show(err), 2) end
  if err.code ~= code then error(string.format("code %q, want %q (%s)", err.code, code, err.message), 2) end
  local match = message:sub(1, 1) == "~" and err.message:find(message:sub(2)) or err.message == message
  if not match then error(string.format("message %q, want %q", err.message, message), 2) end
  if tostring(err) ~= err.message then error("tostring(err) differs from err.message", 2) end
  return err
end

function t.test(name, fn)
  local ok, e = xpcall(fn, debug.traceback)
  if ok then
    t.passed = t.passed + 1
  else
    t.failed = t.failed + 1
    io.stderr:write("FAIL ", name, ": ", tostring(e), "\n")
  end
end

function t.tmpdir()
  local base = os.getenv("CLAW_TEST_TMP") or "/tmp"
  os.execute("mkdir -p '" .. base .. "'")
  local p = io.popen("mktemp -d '" .. base .. "/lua-XXXXXX'")
  local dir = p:read("l")
  p:close()
  return dir
end

function t.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function t.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function t.done()
  print(string.format("%d passed, %d failed", t.passed, t.failed))
  return t.failed == 0 and 0 or 1
end

return t
