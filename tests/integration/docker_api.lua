-- claw.docker against the real daemon. Containers are named claw-it-api*.
package.path = "../lua/?.lua;" .. package.path
local t = require "t"
local docker = require "claw.docker"
local time = require "claw.time"

local IMAGE = "clawtest/gateway:v1"
local function cleanup()
  for _, c in ipairs(docker.containers { all = true, name = "claw-it-api" } or {}) do
    docker.remove(c.Id, { force = true })
  end
  docker.remove_image("clawtest/gateway:it-tag")
end
cleanup()

local id
t.test("ping and version", function()
  t.eq(docker.ping(), true)
  local v = assert(docker.version())
  t.ok(v.ApiVersion:match("^1%.%d+$"), "ApiVersion")
end)

t.test("create, start, wait_healthy", function()
  id = assert(docker.create {
    name = "claw-it-api", Image = IMAGE, Env = { "READY_DELAY=0.5" },
    Labels = { clawtest = "api" },
  })
  t.ok(#id == 64, "a full ID")
  t.eq(docker.start("claw-it-api"), true)
  local t0 = time.monotonic()
  t.eq(docker.wait_healthy("claw-it-api", { timeout = 20 }), true)
  t.ok(time.monotonic() - t0 < 10, "healthy within 10 s")
end)

t.test("inspect, containers, image", function()
  local c = assert(docker.inspect("claw-it-api"))
  t.eq(c.Id, id)
  t.eq(c.State.Running, true)
  t.eq(c.Config.Labels.clawtest, "api")
  local list = assert(docker.containers { label = "clawtest=api" })
  t.eq(#list, 1)
  t.eq(list[1].Id, id)
  t.eq(#assert(docker.containers { name = { "claw-it-api" }, status = "exited" }), 0)
  local img = assert(docker.image(IMAGE))
  t.eq(img.Id, c.Image)
  t.eq(img.Config.Labels["org.opencontainers.image.version"], "1.0.0")
end)

t.test("exec and logs", function()
  local r = assert(docker.exec("claw-it-api", { "/gateway", "--probe" }))
  t.eq(r.exit_code, 0)
  t.ok(r.stdout:find('^200 {"status":"healthy","version":"1.0.0"}'), "probe output: " .. r.stdout)
  r = assert(docker.exec("claw-it-api", { "/gateway", "--probe", "/nope-not-200" }))
  t.eq(r.exit_code, 0) -- any path answers 200 "hello"
  local logs = assert(docker.logs("claw-it-api"))
  t.ok(logs:find("listening on 0.0.0.0:18789", 1, true), "logs: " .. logs)
  local last = assert(docker.logs("claw-it-api", { tail = 1 }))
  t.ok(select(2, last:gsub("\n", "")) <= 1, "one line")
end)

t.test("stop is graceful, wait gives the exit code, events saw it", function()
  local since = time.now() - 1
  t.eq(docker.stop("claw-it-api", { timeout = 10 }), true)
  t.eq(docker.wait("claw-it-api"), 0)
  local actions = {}
  for ev in docker.events { since = since, timeout = 3,
      filters = { container = { id }, type = { "container" } } } do
    actions[#actions + 1] = ev.Action or ev.status
    if ev.Action == "stop" then break end
  end
  t.ok(table.concat(actions, " "):find("stop"), "events: " .. table.concat(actions, " "))
end)

t.test("restart, kill with a signal, stop with a signal", function()
  t.eq(docker.restart("claw-it-api", { timeout = 5 }), true)
  t.eq(docker.inspect("claw-it-api").State.Running, true)
  t.eq(docker.kill("claw-it-api", { signal = "SIGKILL" }), true)
  t.eq(docker.wait("claw-it-api"), 137)
  t.eq(docker.start("claw-it-api"), true)
  t.eq(docker.stop("claw-it-api", { signal = "SIGINT", timeout = 5 }), true)
  t.eq(docker.wait("claw-it-api"), 0)
end)

t.test("rename and remove", function()
  t.eq(docker.rename("claw-it-api", "claw-it-api-renamed"), true)
  t.fails("not_found", "No such container: claw-it-api", docker.inspect("claw-it-api"))
  t.eq(docker.inspect("claw-it-api-renamed").Id, id)
  t.eq(docker.remove("claw-it-api-renamed", { force = true, volumes = true }), true)
  t.fails("not_found", "No such container: claw-it-api-renamed", docker.inspect("claw-it-api-renamed"))
end)

t.test("tag and remove_image", function()
  t.eq(docker.tag(IMAGE, "clawtest/gateway:it-tag"), true)
  t.eq(docker.image("clawtest/gateway:it-tag").Id, docker.image(IMAGE).Id)
  t.eq(docker.remove_image("clawtest/gateway:it-tag"), true)
  t.fails("not_found", "~No such image: clawtest/gateway:it%-tag$", docker.image("clawtest/gateway:it-tag"))
  t.fails("invalid", 'invalid image reference "Bad/Name"', docker.tag(IMAGE, "Bad/Name"))
end)

t.test("health verdicts: unhealthy, exited, deadline, no healthcheck", function()
  assert(docker.create { name = "claw-it-api-sick", Image = IMAGE, Env = { "NEVER_HEALTHY=1" } })
  assert(docker.start("claw-it-api-sick"))
  t.fails("unhealthy", '~^container claw%-it%-api%-sick is unhealthy: 503 {"status":"starting"}$',
    docker.wait_healthy("claw-it-api-sick"))
  local slow = assert(docker.create { name = "claw-it-api-slow", Image = IMAGE, Env = { "READY_DELAY=30" } })
  assert(docker.start(slow))
  -- (waited for by ID, named by its name)
  t.fails("timeout", "~^container claw%-it%-api%-slow is not healthy after 0%.%d s$",
    docker.wait_healthy(slow, { timeout = 0.3 }))
  assert(docker.create { name = "claw-it-api-crash", Image = IMAGE, Env = { "CRASH_AFTER=0.3", "READY_DELAY=5" } })
  assert(docker.start("claw-it-api-crash"))
  t.fails("exited", "container claw-it-api-crash is not running (exit code 3)",
    docker.wait_healthy("claw-it-api-crash", { timeout = 20 }))
  assert(docker.create { name = "claw-it-api-nohc", Image = IMAGE, Healthcheck = { Test = { "NONE" } } })
  t.fails("invalid", "container claw-it-api-nohc has no healthcheck", docker.wait_healthy("claw-it-api-nohc"))
end)

t.test("the daemon's errors come back as nil, err", function()
  t.fails("not_found", "No such container: claw-it-api-none", docker.start("claw-it-api-none"))
  t.fails("not_found", "~^No such image: clawtest/none:1", docker.create { Image = "clawtest/none:1" })
  assert(docker.create { name = "claw-it-api-a", Image = IMAGE })
  assert(docker.create { name = "claw-it-api-b", Image = IMAGE })
  local _, e = docker.rename("claw-it-api-a", "claw-it-api-b")
  t.eq(e.code, "conflict")
  t.eq(e.status, 409)
end)

cleanup()
return t.done()
