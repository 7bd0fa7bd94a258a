local t = require "t"
local yaml = require "claw.yaml"
local json = require "claw.json"

t.test("decode: types, anchors, merge keys", function()
  local v = assert(yaml.decode([[
base: &base { image: "gw:1", restart: always }
svc:
  <<: *base
  restart: "no"
  n: 3
  f: 1.5
  t: true
  y: yes
  z: ~
  list: [a, b]
]]))
  t.eq(v.svc.image, "gw:1")
  t.eq(v.svc.restart, "no")
  t.eq(v.svc.n, 3)
  t.eq(v.svc.f, 1.5)
  t.eq(v.svc.t, true)
  t.eq(v.svc.y, "yes")
  t.eq(v.svc.z, yaml.null)
  t.eq(json.encode(v.svc.list), '["a","b"]')
end)

t.test("decode and load errors name the place", function()
  t.fails("parse", "<string>:2:5: mapping values are not allowed in this context",
    yaml.decode("a: b\nc: d: e\n"))
  t.fails("parse", 'x.yml:2:1: duplicate key "a"', yaml.decode("a: 1\na: 2\n", "x.yml"))
  t.fails("not_found", "cannot read /nonexistent/compose.yml: No such file or directory",
    yaml.load("/nonexistent/compose.yml"))
end)

t.test("compose: interpolation from the environment and .env", function()
  local dir = t.tmpdir()
  t.write(dir .. "/.env", "TAG=2026.9.6\n# comment\nexport PORT='18789'\n")
  t.write(dir .. "/docker-compose.yml", [[
services:
  openclaw-gateway:
    image: "ghcr.io/openclaw/openclaw:${TAG}"
    ports: ["${PORT}:18789"]
    environment:
      HOME_DIR: ${CLAW_TEST_UNSET_VAR:-/home/node}
      PRICE: "$$5"
]])
  local p = assert(yaml.compose(dir .. "/docker-compose.yml"))
  local s = p.services["openclaw-gateway"]
  t.eq(s.name, "openclaw-gateway")
  t.eq(s.image, "ghcr.io/openclaw/openclaw:2026.9.6")
  t.eq(s.ports[1], "18789:18789")
  t.eq(s.environment.HOME_DIR, "/home/node")
  t.eq(s.environment.PRICE, "$5")
  t.eq(p.file, dir .. "/docker-compose.yml")
  t.write(dir .. "/bad.yml", "services:\n  web:\n    image: ${MISSING_FOR_TEST?set it}\n")
  t.fails("invalid", dir .. "/bad.yml: services.web.image: required variable MISSING_FOR_TEST is missing a value: set it",
    yaml.compose(dir .. "/bad.yml"))
  os.execute("rm -rf '" .. dir .. "'")
end)

return t.done()
