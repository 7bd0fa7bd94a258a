-- claw.registry without a registry: argument errors, newer() and compare() tables,
-- and a loopback port where nothing listens (refused at once).
local t = require "t"
local registry = require "claw.registry"

local D1 = "sha256:" .. string.rep("1", 64)
local D2 = "sha256:" .. string.rep("2", 64)

t.test("newer: numeric order, levels, pre-releases, include and exclude", function()
  local tags = { "latest", "1.9.0", "1.10.0", "1.10.1", "1.11.0-rc.1", "2.0.0", "2.0.1-alpine", "v3.0.0" }
  t.eq(registry.newer("1.9.0", tags), "2.0.0")
  t.eq(registry.newer("1.9.0", tags, { level = "minor" }), "1.10.1")
  t.eq(registry.newer("1.10.0", tags, { level = "patch" }), "1.10.1")
  t.eq(registry.newer("2.0.0", tags), nil)
  t.eq(registry.newer("1.10.1", tags, { level = "minor", include = "-rc" }), "1.11.0-rc.1")
  t.eq(registry.newer("1.9.0", tags, { exclude = "^2" }), "1.10.1")
  t.eq(registry.newer("2.0.0-alpine", tags), "2.0.1-alpine")
  t.eq(registry.newer("v2.0.0", tags), "v3.0.0")
  local cal = { "2026.9.6", "2026.9.30", "2026.10.1", "2027.1.1-beta.1" }
  t.eq(registry.newer("2026.9.6", cal, { policy = "calver" }), "2026.10.1")
  t.eq(registry.newer("2026.9.6", cal, { policy = "calver", level = "patch" }), "2026.9.30")
end)

t.test("newer: a current tag that is no version, bad options", function()
  t.fails("invalid", 'tag "latest" is not a semver version', registry.newer("latest", { "1.0.0" }))
  t.fails("invalid", 'tag "1.2.3" is not a calver version', registry.newer("1.2.3", {}, { policy = "calver" }))
  t.raises("~field 'policy' must be \"semver\" or \"calver\"", registry.newer, "1.0.0", {}, { policy = "x" })
  t.raises("~field 'level' must be", registry.newer, "1.0.0", {}, { level = "huge" })
  t.raises('~invalid include pattern "%("', registry.newer, "1.0.0", {}, { include = "(" })
  t.raises("~the tags must be a list of strings", registry.newer, "1.0.0", { 1 })
end)

t.test("parse: references as Docker reads them; invalid ones refused", function()
  t.eq(registry.parse("nginx"), { registry = "docker.io", repository = "library/nginx", tag = "latest" })
  t.eq(registry.parse("localhost:5000/openclaw/gateway:2.0"),
    { registry = "localhost:5000", repository = "openclaw/gateway", tag = "2.0" })
  local d = "sha256:" .. string.rep("a", 64)
  t.eq(registry.parse("ghcr.io/o/g@" .. d), { registry = "ghcr.io", repository = "o/g", digest = d })
  t.fails("invalid", 'invalid image reference "Bad Ref!!"', registry.parse("Bad Ref!!"))
  t.fails("invalid", 'invalid image reference "x:"', registry.parse("x:"))
end)

t.test("compare: same digest, same repository", function()
  local image = { RepoDigests = { "nginx@" .. D1, "localhost:5000/app@" .. D2 } }
  local remote = { digest = D1, registry = "docker.io", repository = "library/nginx" }
  t.eq(registry.compare(image, remote), true)
  t.eq(registry.compare(image.RepoDigests, remote), true)
  t.eq(registry.compare(image, { digest = D2, registry = "docker.io", repository = "library/nginx" }), false)
  t.eq(registry.compare(image, "localhost:5000/app@" .. D2), true)
  t.eq(registry.compare(image, "localhost:5000/other@" .. D2), false)
  t.eq(registry.compare(image, D2), true)
  t.eq(registry.compare({}, D2), false)
  t.eq(registry.compare({ RepoDigests = {} }, remote), false)
  t.raises("~want registry.digest's result", registry.compare, image, { digest = D1 })
end)

t.test("a registry that refuses connections: unreachable, at once", function()
  local t0 = os.clock()
  t.fails("unreachable", "127.0.0.1:1/app:v1: cannot reach 127.0.0.1:1: connection refused",
    registry.digest("127.0.0.1:1/app:v1"))
  t.fails("unreachable", "127.0.0.1:1/app: cannot reach 127.0.0.1:1: connection refused",
    registry.tags("127.0.0.1:1/app"))
  local rs = registry.digests({ "127.0.0.1:1/a:v1", "Bad Ref", "127.0.0.1:1/b" })
  t.eq(#rs, 3)
  t.eq(rs[1].error.code, "unreachable")
  t.eq(tostring(rs[2].error), 'invalid image reference "Bad Ref"')
  t.eq(rs[3].ref, "127.0.0.1:1/b")
  t.eq(rs[3].error.message, "127.0.0.1:1/b: cannot reach 127.0.0.1:1: connection refused")
  t.eq(registry.digests({}), {})
  t.ok(os.clock() - t0 < 0.5, "fast")
end)

t.test("argument errors", function()
  t.raises("~empty image reference", registry.digest, "")
  t.raises("~field 'timeout' must be positive", registry.digest, "x", { timeout = 0 })
  t.raises("~field 'timeout' must be a number", registry.digest, "x", { timeout = "1" })
  t.raises("~field 'insecure' must be a list of strings", registry.digest, "x", { insecure = { 1 } })
  t.raises("~field 'concurrency' must be a whole number from 1 to 1000", registry.digests, {}, { concurrency = 0 })
  t.raises("~field 'limit' must be a whole number", registry.tags, "x", { limit = 1.5 })
  t.raises("~the references must be a list of strings", registry.digests, { true })
end)

return t.done()
