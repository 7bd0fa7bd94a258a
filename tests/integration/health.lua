-- claw.health against real containers of the test gateway. Containers (and one
-- network) are named claw-it-health-*. Time bounds are loose (what they rule out is
-- an attempt waiting for its 2 s timeout), except the readiness figure.
package.path = "../lua/?.lua;" .. package.path
local t = require "t"
local docker = require "claw.docker"
local health = require "claw.health"
local time = require "claw.time"

local IMAGE = "clawtest/gateway:v1"
local NET = "claw-it-health-net"

local function cleanup()
  for _, c in ipairs(docker.containers { all = true, name = "claw-it-health" } or {}) do
    docker.remove(c.Id, { force = true })
  end
  os.execute("docker network rm " .. NET .. " >/dev/null 2>&1")
end
cleanup()

local function start(name, env, extra)
  local spec = { name = name, Image = IMAGE, Env = env }
  for k, v in pairs(extra or {}) do spec[k] = v end
  assert(docker.create(spec))
  assert(docker.start(name))
end

local function ip_of(name)
  return docker.inspect(name).NetworkSettings.Networks.bridge.IPAddress
end

start("claw-it-health-v1")
local ip = ip_of("claw-it-health-v1")
local url = "http://" .. ip .. ":18789/api/health"

t.test("url: the container's IP and its exposed port", function()
  t.eq(health.url("http://{host}:{port}/api/health", "claw-it-health-v1"), url)
  t.eq(health.url("{host}:{port}", "claw-it-health-v1", { port = 9999, network = "bridge" }), ip .. ":9999")
  t.fails("not_found", "container claw-it-health-v1 is not on network nope",
    health.url("http://{host}/", "claw-it-health-v1", { network = "nope" }))
  t.fails("not_found", "No such container: claw-it-health-none", health.url("http://{host}/", "claw-it-health-none"))
  t.fails("invalid", 'unknown placeholder in "http://{ip}/" (want {host} or {port})',
    health.url("http://{ip}/", "claw-it-health-v1"))
end)

t.test("http: the answer is read, its fields checked", function()
  local body = assert(health.wait({ http = url, expect = { status = "healthy" } }, { timeout = 10 }))
  t.eq(body, { status = "healthy", version = "1.0.0" })
  body = assert(health.http(url, { expect = { status = "healthy" } }))
  t.eq(body.version, "1.0.0")
  t.eq(health.http("http://" .. ip .. ":18789/healthz", { expect = { ok = true, status = "live" } }),
    { ok = true, status = "live" })
  t.eq(health.http("http://" .. ip .. ":18789/version"), true) -- not JSON: true
  t.fails("unhealthy", "GET " .. url .. ': field version is "1.0.0", want "2.0.0"',
    health.http(url, { expect = { version = "2.0.0" } }))
  t.fails("unhealthy", "GET http://" .. ip .. ':18789/healthz: field ok is true, want false',
    health.http("http://" .. ip .. ":18789/healthz", { expect = { ok = false } }))
  t.fails("unhealthy", "GET http://" .. ip .. ":18789/version: the answer is not JSON",
    health.http("http://" .. ip .. ":18789/version", { expect = { version = "1.0.0" } }))
  t.fails("unhealthy", "GET " .. url .. ": status 200, want 204", health.http(url, { status = 204 }))
  t.eq(health.http(url, { status = 0 }).status, "healthy") -- any 2xx
end)

t.test("http: a slow answer is a timeout", function()
  local slow = "http://" .. ip .. ":18789/slow?ms=2000"
  local t0 = time.monotonic()
  t.fails("timeout", "GET " .. slow .. ": no answer within 0.3 s", health.http(slow, { timeout = 0.3 }))
  t.ok(time.monotonic() - t0 < 1.5, "ends at the timeout")
end)

t.test("tcp", function()
  t.eq(health.tcp(ip .. ":18789"), true)
  t.eq(health.tcp(health.url("{host}:{port}", "claw-it-health-v1")), true)
end)

t.test("a closed port refuses at once; a stopped container has no address", function()
  local closed = "http://" .. ip .. ":18790/api/health"
  local t0 = time.monotonic()
  t.fails("unhealthy", "GET " .. closed .. ": connection refused", health.http(closed))
  t.fails("unhealthy", "connect " .. ip .. ":18790: connection refused", health.tcp(ip .. ":18790"))
  local v, err, elapsed = health.wait({ http = closed }, { retries = 3 })
  t.fails("unhealthy", "GET " .. closed .. ": connection refused (3 failures in a row)", v, err)
  t.ok(elapsed < 1.5, "3 attempts 0.1 s apart: " .. elapsed)
  t.ok(time.monotonic() - t0 < 1.9, "no attempt waited for a timeout")

  -- On a network of its own, so that no other container takes its address.
  assert(os.execute("docker network create " .. NET .. " >/dev/null"))
  start("claw-it-health-stopped", nil, { HostConfig = { NetworkMode = NET } })
  local old = docker.inspect("claw-it-health-stopped").NetworkSettings.Networks[NET].IPAddress
  assert(docker.stop("claw-it-health-stopped", { timeout = 5 }))
  t0 = time.monotonic()
  t.fails("not_found", "container claw-it-health-stopped is not running, so it has no address",
    health.url("http://{host}:{port}/", "claw-it-health-stopped"))
  -- Its former address: nothing answers there (no refusal), so the probe's timeout ends it.
  local gone = "http://" .. old .. ":18789/api/health"
  t.fails("timeout", "GET " .. gone .. ": no answer within 0.2 s", health.http(gone, { timeout = 0.2 }))
  t.ok(time.monotonic() - t0 < 1.5, "fast")
end)

t.test("wait: READY_DELAY=2 is seen within 0.1-0.2 s of the gateway turning ready", function()
  start("claw-it-health-ready", { "READY_DELAY=2" })
  local rurl = health.url("http://{host}:{port}/api/health", "claw-it-health-ready")
  local body, elapsed = health.wait({ http = rurl, expect = { status = "healthy" } }, { timeout = 10 })
  local seen = time.now()
  t.eq(body.version, "1.0.0")
  t.ok(elapsed > 1.5 and elapsed < 2.5, "elapsed " .. elapsed)
  -- The gateway logs "ready" when its READY_DELAY ends; Docker stamps the line.
  local p = io.popen("docker logs -t claw-it-health-ready 2>&1")
  local ready
  for line in p:lines() do
    local stamp = line:match("^(%S+) gateway 1%.0%.0: ready$")
    if stamp then ready = time.parse(stamp) end
  end
  p:close()
  t.ok(ready, "a ready line")
  local late = seen - ready
  print(string.format("health: readiness seen %.0f ms after the gateway's \"ready\" (wait: %.3f s)",
    late * 1000, elapsed))
  t.ok(late > -0.05 and late < 0.25, "seen " .. late .. " s after ready")
  local started = time.parse(docker.inspect("claw-it-health-ready").State.StartedAt)
  t.ok(seen - started >= 2 and seen - started < 2.3, "ready 2 s after start: " .. (seen - started))
end)

t.test("wait: NEVER_HEALTHY is unhealthy after the retries, with the reason", function()
  start("claw-it-health-never", { "NEVER_HEALTHY=1" })
  local nurl = health.url("http://{host}:{port}/api/health", "claw-it-health-never")
  local v, err, elapsed = health.wait({ http = nurl, expect = { status = "healthy" } },
    { retries = 3, interval = 0.1 })
  t.fails("unhealthy", "GET " .. nurl .. ": status 503, want 200 (3 failures in a row)", v, err)
  t.ok(elapsed >= 0.2 and elapsed < 1.5, "elapsed " .. elapsed)
  v, err = health.wait({ http = nurl, status = 503, expect = { status = "healthy" } },
    { retries = 2, start_period = 0.3 })
  t.fails("unhealthy", "GET " .. nurl .. ': field status is "starting", want "healthy" (2 failures in a row)', v, err)
  v, err, elapsed = health.wait({ http = nurl }, { timeout = 0.5 })
  t.fails("timeout", "not healthy within 0.5 s: GET " .. nurl .. ": status 503, want 200", v, err)
  t.ok(elapsed >= 0.5 and elapsed < 1.5, "elapsed " .. elapsed)
end)

t.test("docker: the container's own healthcheck", function()
  local ok, elapsed = health.wait({ docker = "claw-it-health-v1" }, { timeout = 15 })
  t.eq(ok, true)
  t.ok(elapsed < 15, "elapsed")
  t.eq(health.docker("claw-it-health-v1"), true)
  t.fails("unhealthy", "~^container claw%-it%-health%-never is starting",
    health.docker("claw-it-health-never"))
  assert(docker.create { name = "claw-it-health-nohc", Image = IMAGE, Healthcheck = { Test = { "NONE" } } })
  assert(docker.start("claw-it-health-nohc"))
  t.fails("invalid", "container claw-it-health-nohc has no healthcheck", health.docker("claw-it-health-nohc"))
  local v, err, waited = health.wait({ docker = "claw-it-health-nohc" }, { timeout = 5 })
  t.fails("invalid", "container claw-it-health-nohc has no healthcheck", v, err)
  t.ok(waited < 1, "no retry on a probe that cannot pass")
  t.fails("not_found", "No such container: claw-it-health-none", health.docker("claw-it-health-none"))
  t.fails("unhealthy", "container claw-it-health-stopped is not running", health.docker("claw-it-health-stopped"))
end)

t.test("exec: a command in the container", function()
  t.eq(health.exec("claw-it-health-v1", { "/gateway", "--probe" }), true)
  t.eq(health.exec("claw-it-health-v1", { "/gateway", "--probe", "/healthz" }, { timeout = 5 }), true)
  t.fails("unhealthy", 'exec /gateway --probe in claw-it-health-never: exit code 1: 503 {"status":"starting"}',
    health.exec("claw-it-health-never", { "/gateway", "--probe" }))
  t.fails("unhealthy", "~^exec /gateway %-%-probe in claw%-it%-health%-stopped: Container %x+ is not running$",
    health.exec("claw-it-health-stopped", { "/gateway", "--probe" }))
  t.fails("not_found", "No such container: claw-it-health-none", health.exec("claw-it-health-none", { "true" }))
  start("claw-it-health-exec", { "READY_DELAY=1" })
  local ok, elapsed = health.wait({ exec = { "claw-it-health-exec", { "/gateway", "--probe" } } }, { timeout = 10 })
  t.eq(ok, true)
  t.ok(elapsed > 0.5 and elapsed < 3, "elapsed " .. elapsed)
end)

cleanup()
return t.done()
