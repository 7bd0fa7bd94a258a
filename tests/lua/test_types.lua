-- Every module function refuses arguments of the wrong type with Lua's own message,
-- before it talks to Docker or touches a file.
local t = require "t"
local docker = require "claw.docker"
local backup = require "claw.backup"
local yaml = require "claw.yaml"
local log = require "claw.log"
local health = require "claw.health"

local cases = {
  { docker.containers, { 5 }, "bad argument #1 to 'claw.docker.containers' (table expected, got number)" },
  { docker.containers, { { all = "yes" } }, "bad argument #1 to 'claw.docker.containers' (field 'all' must be a boolean, got string)" },
  { docker.containers, { { name = 5 } }, "bad argument #1 to 'claw.docker.containers' (field 'name' must be a string or a list of strings)" },
  { docker.inspect, {}, "bad argument #1 to 'claw.docker.inspect' (string expected, got nil)" },
  { docker.inspect, { "" }, "bad argument #1 to 'claw.docker.inspect' (empty container or image name)" },
  { docker.image, { {} }, "bad argument #1 to 'claw.docker.image' (string expected, got table)" },
  { docker.images, { 5 }, "bad argument #1 to 'claw.docker.images' (table expected, got number)" },
  { docker.images, { { reference = 5 } }, "bad argument #1 to 'claw.docker.images' (field 'reference' must be a string or a list of strings)" },
  { docker.images, { { dangling = "yes" } }, "bad argument #1 to 'claw.docker.images' (field 'dangling' must be a boolean, got string)" },
  { docker.pull, { nil }, "bad argument #1 to 'claw.docker.pull' (string expected, got nil)" },
  { docker.pull, { "x", 1 }, "bad argument #2 to 'claw.docker.pull' (table expected, got number)" },
  { docker.tag, { "a" }, "bad argument #2 to 'claw.docker.tag' (string expected, got nil)" },
  { docker.remove_image, { "a", { force = 1 } }, "bad argument #2 to 'claw.docker.remove_image' (field 'force' must be a boolean, got number)" },
  { docker.create, { "spec" }, "bad argument #1 to 'claw.docker.create' (table expected, got string)" },
  { docker.create, { {} }, "bad argument #1 to 'claw.docker.create' (field 'Image' must be a string)" },
  { docker.start, { {} }, "bad argument #1 to 'claw.docker.start' (string expected, got table)" },
  { docker.stop, { "c", "x" }, "bad argument #2 to 'claw.docker.stop' (table expected, got string)" },
  { docker.stop, { "c", { timeout = "10" } }, "bad argument #2 to 'claw.docker.stop' (field 'timeout' must be a number, got string)" },
  { docker.stop, { "c", { signal = 15 } }, "bad argument #2 to 'claw.docker.stop' (field 'signal' must be a string, got number)" },
  { docker.kill, { "c", { signal = true } }, "bad argument #2 to 'claw.docker.kill' (field 'signal' must be a string, got boolean)" },
  { docker.restart, { {} }, "bad argument #1 to 'claw.docker.restart' (string expected, got table)" },
  { docker.rename, { "c" }, "bad argument #2 to 'claw.docker.rename' (string expected, got nil)" },
  { docker.update, { "c", "x" }, "bad argument #2 to 'claw.docker.update' (table expected, got string)" },
  { docker.remove, { "c", { volumes = "yes" } }, "bad argument #2 to 'claw.docker.remove' (field 'volumes' must be a boolean, got string)" },
  { docker.wait, { "c", { timeout = {} } }, "bad argument #2 to 'claw.docker.wait' (field 'timeout' must be a number, got table)" },
  { docker.logs, { "c", { tail = "all" } }, "bad argument #2 to 'claw.docker.logs' (field 'tail' must be a number, got string)" },
  { docker.exec, { "c", "ls" }, "bad argument #2 to 'claw.docker.exec' (table expected, got string)" },
  { docker.exec, { "c", {} }, "bad argument #2 to 'claw.docker.exec' (empty command)" },
  { docker.exec, { "c", { "ls", 1 } }, "bad argument #2 to 'claw.docker.exec' (the command must be a list of strings)" },
  { docker.events, { { filters = "x" } }, "bad argument #1 to 'claw.docker.events' (field 'filters' must be a table)" },
  { docker.events, { { timeout = "1" } }, "bad argument #1 to 'claw.docker.events' (field 'timeout' must be a number, got string)" },
  { docker.wait_healthy, { "c", { timeout = "1" } }, "bad argument #2 to 'claw.docker.wait_healthy' (field 'timeout' must be a number, got string)" },
  { docker.clone, { "c", { image = 1 } }, "bad argument #2 to 'claw.docker.clone' (field 'image' must be a string, got number)" },
  { backup.save, { nil }, "bad argument #1 to 'claw.backup.save' (string expected, got nil)" },
  { backup.save, { "f", { keep = "3" } }, "bad argument #2 to 'claw.backup.save' (field 'keep' must be a number, got string)" },
  { backup.restore, { "f", { which = true } }, "bad argument #2 to 'claw.backup.restore' (field 'which' must be a string or an integer)" },
  { backup.list, { {} }, "bad argument #1 to 'claw.backup.list' (string expected, got table)" },
  { backup.sha256, { {} }, "bad argument #1 to 'claw.backup.sha256' (string expected, got table)" },
  { yaml.load, { {} }, "bad argument #1 to 'claw.yaml.load' (string expected, got table)" },
  { yaml.decode, { {} }, "bad argument #1 to 'claw.yaml.decode' (string expected, got table)" },
  { yaml.compose, {}, "bad argument #1 to 'claw.yaml.compose' (string expected, got nil)" },
  { log.info, {}, "bad argument #1 to 'claw.log.info' (string expected, got nil)" },
  { log.warn, { "m", "f" }, "bad argument #2 to 'claw.log.warn' (table expected, got string)" },
  { health.http, { true }, "bad argument #1 to 'claw.health.http' (string expected, got boolean)" },
  { health.http, { "http://h/", "x" }, "bad argument #2 to 'claw.health.http' (table expected, got string)" },
  { health.http, { "http://h/", { status = "200" } }, "bad argument #2 to 'claw.health.http' (field 'status' must be a number, got string)" },
  { health.http, { "http://h/", { timeout = "2" } }, "bad argument #2 to 'claw.health.http' (field 'timeout' must be a number, got string)" },
  { health.http, { "http://h/", { expect = 1 } }, "bad argument #2 to 'claw.health.http' (field 'expect' must be a table, got number)" },
  { health.tcp, { {} }, "bad argument #1 to 'claw.health.tcp' (string expected, got table)" },
  { health.tcp, { "h:1", { timeout = true } }, "bad argument #2 to 'claw.health.tcp' (field 'timeout' must be a number, got boolean)" },
  { health.docker, {}, "bad argument #1 to 'claw.health.docker' (string expected, got nil)" },
  { health.docker, { "" }, "bad argument #1 to 'claw.health.docker' (empty container name)" },
  { health.docker, { "c", 1 }, "bad argument #2 to 'claw.health.docker' (table expected, got number)" },
  { health.exec, { "c" }, "bad argument #2 to 'claw.health.exec' (table expected, got nil)" },
  { health.exec, { "c", {} }, "bad argument #2 to 'claw.health.exec' (empty command)" },
  { health.exec, { "c", { "ls", 1 } }, "bad argument #2 to 'claw.health.exec' (the command must be a list of strings)" },
  { health.exec, { "c", { "ls" }, { timeout = "1" } }, "bad argument #3 to 'claw.health.exec' (field 'timeout' must be a number, got string)" },
  { health.wait, { "http://h/" }, "bad argument #1 to 'claw.health.wait' (table expected, got string)" },
  { health.wait, { { tcp = "h:1" }, 5 }, "bad argument #2 to 'claw.health.wait' (table expected, got number)" },
  { health.wait, { { http = 5 } }, "bad argument #1 to 'claw.health.wait' (field 'http' must be a string, got number)" },
  { health.wait, { { tcp = "h:1" }, { interval = "0.1" } }, "bad argument #2 to 'claw.health.wait' (field 'interval' must be a number, got string)" },
  { health.wait, { { tcp = "h:1" }, { retries = {} } }, "bad argument #2 to 'claw.health.wait' (field 'retries' must be a number, got table)" },
  { health.wait, { { tcp = "h:1" }, { start_period = "1" } }, "bad argument #2 to 'claw.health.wait' (field 'start_period' must be a number, got string)" },
  { health.url, { nil, "c" }, "bad argument #1 to 'claw.health.url' (string expected, got nil)" },
  { health.url, { "http://{host}/", {} }, "bad argument #2 to 'claw.health.url' (string expected, got table)" },
  { health.url, { "http://{host}/", "c", { network = 1 } }, "bad argument #3 to 'claw.health.url' (field 'network' must be a string, got number)" },
}

for i, c in ipairs(cases) do
  t.test("case " .. i .. ": " .. c[3], function()
    t.raises(c[3], c[1], table.unpack(c[2], 1, 3))
  end)
end

return t.done()
