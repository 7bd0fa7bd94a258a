local process = require "claw.process"
local t = require "t"
local time = require "claw.time"

t.test("exit codes and signals", function()
  t.eq(assert(process.spawn({ "sh", "-c", "exit 3" })):wait(10), 3)
  t.eq(assert(process.spawn({ "true" })):wait(), 0)
  t.eq(assert(process.spawn({ "sh", "-c", "kill -KILL $$" })):wait(10), 137)
end)

t.test("the environment is the engine's with env laid over it", function()
  local dir = t.tmpdir()
  local out = dir .. "/env"
  local p = assert(process.spawn({ "sh", "-c", 'printf "%s %s" "$CLAW_A" "$HOME" > "$1"', "sh", out },
    { env = { CLAW_A = "given" } }))
  t.eq(p:wait(10), 0)
  t.eq(t.read(out), "given " .. os.getenv("HOME"))
end)

t.test("a wait that times out, then kill", function()
  local p = assert(process.spawn({ "sleep", "30" }, { group = true }))
  t.ok(p:running(), "running")
  t.ok(math.type(p:pid()) == "integer", "a pid")
  local t0 = time.monotonic()
  t.fails("timeout", "~still runs after 0.1 s$", p:wait(0.1))
  t.ok(time.monotonic() - t0 < 2, "the wait ended at its timeout")
  t.ok(p:kill())
  t.eq(p:wait(5), 143)
  t.eq(p:running(), false)
  t.eq(p:pid(), nil)
  t.eq(p:wait(), 143) -- an ended process keeps its status
  p:close()
  p:close() -- twice is harmless
end)

t.test("a closed process can still be waited for", function()
  local p = assert(process.spawn({ "sleep", "0.2" }))
  p:close()
  local t0 = time.monotonic()
  t.eq(p:wait(5), 0)
  t.ok(time.monotonic() - t0 < 2, "the wait ended with the process")
end)

t.test("a program that cannot start", function()
  t.fails("not_found", "cannot start /nonexistent/program: No such file or directory",
    process.spawn({ "/nonexistent/program" }))
end)

t.test("wrong arguments", function()
  t.raises("bad argument #1 to 'claw.process.spawn' (table expected, got string)", process.spawn, "ls")
  t.raises("bad argument #1 to 'claw.process.spawn' (empty argument list)", process.spawn, {})
  t.raises("bad argument #2 to 'claw.process.spawn' (field 'env' must map names to strings)", process.spawn,
    { "true" }, { env = { 1 } })
  t.raises("~invalid option 'BOGUS'", function()
    local p <close> = assert(process.spawn({ "true" }))
    p:kill("BOGUS")
  end)
end)

return t.done()
