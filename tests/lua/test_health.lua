-- claw.health without Docker: argument errors, and probes of a loopback port where
-- nothing listens (refused at once).
local t = require "t"
local health = require "claw.health"

local CLOSED = "127.0.0.1:1" -- nothing listens on port 1

t.test("a refused connection is unhealthy, at once", function()
  local t0 = os.clock()
  t.fails("unhealthy", "connect 127.0.0.1:1: connection refused", health.tcp(CLOSED))
  t.fails("unhealthy", "GET http://127.0.0.1:1/api/health: connection refused",
    health.http("http://127.0.0.1:1/api/health", { expect = { status = "healthy" } }))
  t.ok(os.clock() - t0 < 0.5, "fast")
end)

t.test("wait: retries, timeout, elapsed", function()
  local v, err, elapsed = health.wait({ tcp = CLOSED }, { interval = 0.01, retries = 3 })
  t.fails("unhealthy", "connect 127.0.0.1:1: connection refused (3 failures in a row)", v, err)
  t.ok(type(elapsed) == "number" and elapsed >= 0.02 and elapsed < 1, "elapsed " .. tostring(elapsed))
  v, err, elapsed = health.wait({ http = "http://127.0.0.1:1/" }, { interval = 0.02, timeout = 0.1 })
  t.fails("timeout", "not healthy within 0.1 s: GET http://127.0.0.1:1/: connection refused", v, err)
  t.ok(elapsed >= 0.1 and elapsed < 1, "elapsed " .. tostring(elapsed))
end)

t.test("bad probes are invalid", function()
  t.fails("invalid", 'invalid probe URL "ftp://x/" (want http:// or https://)', health.http("ftp://x/"))
  t.fails("invalid", 'unfilled placeholder in probe URL "http://{host}:{port}/"',
    health.http("http://{host}:{port}/"))
  t.fails("invalid", 'invalid address "localhost" (want host:port)', health.tcp("localhost"))
  local v, err, elapsed = health.wait({ tcp = "nope" }, { retries = 5 })
  t.fails("invalid", 'invalid address "nope" (want host:port)', v, err)
  t.ok(elapsed < 0.5, "at once")
end)

t.test("wrong argument types", function()
  t.raises("bad argument #1 to 'claw.health.http' (string expected, got no value)", health.http)
  t.raises("bad argument #1 to 'claw.health.http' (empty URL)", health.http, "")
  t.raises("bad argument #2 to 'claw.health.http' (field 'expect' must be a table, got string)",
    health.http, "http://127.0.0.1:1/", { expect = "healthy" })
  t.raises("bad argument #2 to 'claw.health.http' (field 'expect' must be a table of fields)",
    health.http, "http://127.0.0.1:1/", { expect = { "healthy" } })
  t.raises("bad argument #2 to 'claw.health.http' (field 'expect': cannot encode a function as JSON)",
    health.http, "http://127.0.0.1:1/", { expect = { status = print } })
  t.raises("bad argument #2 to 'claw.health.http' (field 'status' must be an HTTP status (or 0 for any 2xx))",
    health.http, "http://127.0.0.1:1/", { status = 42 })
  t.raises("bad argument #1 to 'claw.health.tcp' (empty address)", health.tcp, "")
  t.raises("bad argument #1 to 'claw.health.wait' (a probe has exactly one of the fields http, tcp, docker, exec)",
    health.wait, {})
  t.raises("bad argument #1 to 'claw.health.wait' (a probe has exactly one of the fields http, tcp, docker, exec)",
    health.wait, { http = "http://127.0.0.1:1/", tcp = CLOSED })
  t.raises("bad argument #1 to 'claw.health.wait' (field 'http' is empty)", health.wait, { http = "" })
  t.raises("bad argument #1 to 'claw.health.wait' (field 'exec' must be { container, { command... } })",
    health.wait, { exec = "web" })
  t.raises("bad argument #1 to 'claw.health.wait' (field 'exec' must be { container, { command... } })",
    health.wait, { exec = { "web", "true" } })
  t.raises("bad argument #1 to 'claw.health.wait' (empty command)", health.wait, { exec = { "web", {} } })
  t.raises("bad argument #1 to 'claw.health.wait' (field 'exec' has an empty container name)",
    health.wait, { exec = { "", { "true" } } })
  -- every wait ends: no timeout of 0 or less, no negative interval, retries or start period
  local tcp = { tcp = CLOSED }
  t.raises("bad argument #2 to 'claw.health.wait' (field 'timeout' must be a number above 0)",
    health.wait, tcp, { timeout = 0 })
  t.raises("bad argument #2 to 'claw.health.wait' (field 'timeout' must be a number above 0)",
    health.wait, tcp, { timeout = -1 })
  t.raises("bad argument #2 to 'claw.health.wait' (field 'interval' must be a number above 0)",
    health.wait, tcp, { interval = -0.1 })
  t.raises("bad argument #2 to 'claw.health.wait' (field 'retries' must be a number from 0)",
    health.wait, tcp, { retries = -3 })
  t.raises("bad argument #2 to 'claw.health.wait' (field 'retries' must be a whole number)",
    health.wait, tcp, { retries = 1.5 })
  t.raises("bad argument #2 to 'claw.health.wait' (field 'start_period' must be a number from 0)",
    health.wait, tcp, { start_period = -2 })
  t.raises("bad argument #3 to 'claw.health.url' (field 'port' must be a port number)",
    health.url, "http://{host}/", "web", { port = 1.5 })
end)

return t.done()
