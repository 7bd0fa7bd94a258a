-- claw.log writes human lines to stderr and, with --json, JSON lines to stdout,
-- masking secret fields. Checked by running the engine on a small policy.
local t = require "t"
local json = require "claw.json"

local dir = t.tmpdir()
local policy = dir .. "/log.lua"
t.write(policy, [[
local log = require "claw.log"
log.debug("hidden at info")
log.info("updated", { container = "web", token = "abc", nested = { password = "p", n = 1 } })
log.warn("two words", { note = "a b" })
]])
local exe = arg[-1] or "clawengine"

local function run(flags)
  local p = io.popen(string.format("'%s' %s run '%s' 2>'%s/err'", exe, flags, policy, dir))
  local out = p:read("a")
  p:close()
  return out, t.read(dir .. "/err")
end

t.test("human lines on stderr, secrets masked, level threshold", function()
  local out, err = run("")
  t.eq(out, "")
  local line = err:match("[^\n]*info  updated[^\n]*")
  t.ok(line, err)
  for _, part in ipairs { " container=web", " token=***", ' nested={', '"password":"***"', '"n":1' } do
    t.ok(line:find(part, 1, true), "missing" .. part .. " in " .. line)
  end
  t.ok(err:find('warn  two words note="a b"', 1, true), err)
  t.ok(not err:find("hidden"), "debug dropped")
end)

t.test("--json: JSON lines on stdout", function()
  local out = run("--json --log-level debug")
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = assert(json.decode(l)) end
  t.eq(#lines, 3)
  t.eq(lines[2].msg, "updated")
  t.eq(lines[2].level, "info")
  t.eq(lines[2].token, "***")
  t.eq(lines[2].nested.password, "***")
  t.ok(lines[1].time:match("^%d+%-%d+%-%d+T%d+:%d+:%d+%.%d+Z$"), lines[1].time)
end)

os.execute("rm -rf '" .. dir .. "'")
return t.done()
