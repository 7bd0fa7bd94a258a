-- claw.registry against Debian's docker-registry ($REG, plain HTTP on loopback) and
-- the fault server ($FAULTS; $AUTHF for the token flow), set up by
-- test_registry.sh: x:v1 pushed by Docker (digest $V1), x:t1..t100 and pages:* put
-- through the API, x:multi an OCI index of x:v1. Prints "figures: ..." lines.
package.path = "../lua/?.lua;" .. package.path
local t = require "t"
local docker = require "claw.docker"
local health = require "claw.health"
local registry = require "claw.registry"
local time = require "claw.time"

local REG, FAULTS, AUTHF, V1 = os.getenv("REG"), os.getenv("FAULTS"), os.getenv("AUTHF"), os.getenv("V1")
local DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
local OCI_INDEX = "application/vnd.oci.image.index.v1+json"

local function sh(cmd)
  t.ok(os.execute(cmd .. " >/dev/null 2>&1"), cmd)
end

local function stats(server)
  return assert(health.http("http://" .. server .. "/stats"))
end

local function elapsed(fn, ...)
  local t0 = time.monotonic()
  local a, b = fn(...)
  return time.monotonic() - t0, a, b
end

-- ---------------------------------------------------------------- a real registry

t.test("digest: what Docker recorded when it pushed", function()
  local r = assert(registry.digest(REG .. "/x:v1"))
  t.eq(r, { digest = V1, media_type = DOCKER_V2, registry = REG, repository = "x", tag = "v1" })
  local img = assert(docker.image(REG .. "/x:v1"))
  t.eq(registry.compare(img, r), true, "compare with the image")
  t.eq(registry.compare(img.RepoDigests, r), true, "compare with its RepoDigests")
  t.eq(registry.compare(img, REG .. "/x@" .. V1), true, "compare with name@digest")
  t.eq(registry.compare(img, "localhost:9/x@" .. V1), false, "another registry")
  t.eq(registry.compare(img, V1), true, "a bare digest")
end)

t.test("a new push to the same tag changes the digest", function()
  local before = assert(docker.image(REG .. "/x:v1"))
  sh("docker tag clawtest/gateway:v2 " .. REG .. "/x:v1 && docker push -q " .. REG .. "/x:v1")
  local r = assert(registry.digest(REG .. "/x:v1"))
  t.ok(r.digest ~= V1 and r.digest:match("^sha256:%x+$"), "a new digest " .. r.digest)
  t.eq(registry.compare(before, r), false, "the old image is out of date")
  t.eq(registry.compare(assert(docker.image(REG .. "/x:v1")), r), true, "the pushed one is not")
end)

t.test("a multi-platform image: HEAD gives the index digest, which Docker records", function()
  local r = assert(registry.digest(REG .. "/x:multi"))
  t.eq(r.media_type, OCI_INDEX)
  t.ok(r.digest ~= V1, "the index, not the platform's manifest")
  assert(docker.pull(REG .. "/x:multi"))
  local img = assert(docker.image(REG .. "/x:multi"))
  t.eq(registry.compare(img, r), true, "RepoDigests hold the index digest")
  t.eq(registry.compare({ REG .. "/x@" .. V1 }, r), false, "not the platform manifest's")
end)

-- Debian's docker-registry (2.8) answers every tag at once, in no order, whatever n
-- asks: the pages themselves are tested on the fault server.
t.test("tags, and the newest version among them", function()
  local all = { "1.0.0", "1.10.0", "1.9.0", "2.0.0-rc.1", "latest" }
  local got = assert(registry.tags(REG .. "/pages", { page = 1 }))
  table.sort(got)
  t.eq(got, all)
  t.eq(#assert(registry.tags(REG .. "/pages", { limit = 3 })), 3)
  t.eq(registry.newer("1.0.0", all), "1.10.0")
  t.eq(registry.newer("1.0.0", all, { include = "^[0-9.]+(-rc\\.[0-9]+)?$" }), "2.0.0-rc.1")
  local x = assert(registry.tags(REG .. "/x", { page = 7 }))
  t.eq(#x, 102, "t1..t100, v1, multi")
end)

t.test("unknown tag, repository, registry", function()
  t.fails("not_found", REG .. "/x:v9: manifest unknown (404)", registry.digest(REG .. "/x:v9"))
  t.fails("not_found", REG .. "/nope:v1: manifest unknown (404)", registry.digest(REG .. "/nope:v1"))
  t.fails("not_found", REG .. "/nope: repository name not known to registry (404)",
    registry.tags(REG .. "/nope"))
  t.fails("unreachable", "localhost:5079/x:v1: cannot reach localhost:5079: connection refused",
    registry.digest("localhost:5079/x:v1"))
  t.fails("invalid", 'invalid image reference "UPPER/x"', registry.digest("UPPER/x"))
end)

t.test("100 references at once: results in order, errors in place", function()
  local refs = {}
  for i = 1, 100 do refs[i] = REG .. "/x:t" .. i end
  refs[50] = REG .. "/x:missing"
  refs[51] = "UPPER/x"
  local took, rs = elapsed(registry.digests, refs)
  t.eq(#rs, 100)
  for i, r in ipairs(rs) do
    t.eq(r.ref, refs[i], "ref " .. i)
    if i == 50 then
      t.eq(r.error.code, "not_found")
      t.eq(tostring(r.error), REG .. "/x:missing: manifest unknown (404)")
    elseif i == 51 then
      t.eq(r.error.code, "invalid")
    else
      t.eq(r.digest, V1, "digest " .. i)
      t.eq(r.tag, "t" .. i)
    end
  end
  for i = 1, 100 do refs[i] = REG .. "/x:t" .. i end
  local one = elapsed(function()
    for i = 1, 100 do assert(registry.digest(refs[i])) end
  end)
  took = elapsed(registry.digests, refs)
  local serial = elapsed(registry.digests, refs, { concurrency = 1 })
  print(string.format("figures: docker-registry on loopback, 100 digests: %.0f ms at once, %.0f ms "
    .. "one call each, %.0f ms with concurrency = 1", took * 1000, one * 1000, serial * 1000))
end)

-- ---------------------------------------------------------------- the fault server

local expected = assert(health.http("http://" .. FAULTS .. "/expected")).digest

t.test("no Docker-Content-Digest on HEAD: GET and hash the manifest", function()
  local r = assert(registry.digest(FAULTS .. "/nodigest/app:v1"))
  t.eq(r.digest, expected)
  t.eq(r.media_type, "application/vnd.oci.image.manifest.v1+json")
  local c = stats(FAULTS).counts
  t.eq({ c["HEAD nodigest/app:v1"], c["GET nodigest/app:v1"] }, { 1, 1 })
end)

t.test("malformed answers", function()
  t.fails("http", FAULTS .. '/baddigest/app:v1: malformed answer from ' .. FAULTS
    .. ': invalid Docker-Content-Digest "sha256:xyz"', registry.digest(FAULTS .. "/baddigest/app:v1"))
  t.fails("http", FAULTS .. "/garbage/app:v1: malformed answer from " .. FAULTS
    .. ": the manifest is not JSON", registry.digest(FAULTS .. "/garbage/app:v1"))
  t.fails("http", FAULTS .. "/badtags: malformed answer from " .. FAULTS
    .. ": the tag list is not JSON", registry.tags(FAULTS .. "/badtags"))
  t.fails("http", FAULTS .. "/noheader/app:v1: malformed answer from " .. FAULTS
    .. ": 401 without a Bearer or Basic challenge", registry.digest(FAULTS .. "/noheader/app:v1"))
end)

t.test("429 with Retry-After: waits, then asks again", function()
  local took, r = elapsed(registry.digest, FAULTS .. "/limited/app:v1")
  t.eq(r and r.digest, expected)
  t.ok(took >= 0.95 and took < 3, "waited " .. took)
  t.eq(stats(FAULTS).counts["HEAD limited/app:v1"], 2)
end)

t.test("429 asking to wait past the timeout: an error at once", function()
  local took, r, err = elapsed(registry.digest, FAULTS .. "/limited/long:v1")
  t.fails("http", FAULTS .. "/limited/long:v1: too many requests (429), retry after 3600 s", r, err)
  t.ok(took < 0.5, "took " .. took)
end)

t.test("5xx: retried once", function()
  t.eq(assert(registry.digest(FAULTS .. "/flaky/app:v1")).digest, expected)
  t.fails("http", FAULTS .. "/broken/app:v1: server error (500)", registry.digest(FAULTS .. "/broken/app:v1"))
  local c = stats(FAULTS).counts
  t.eq({ c["HEAD flaky/app:v1"], c["HEAD broken/app:v1"] }, { 2, 2 })
end)

t.test("a stalled answer: timeout", function()
  local took, r, err = elapsed(registry.digest, FAULTS .. "/stall/app:v1", { timeout = 0.5 })
  t.fails("timeout", FAULTS .. "/stall/app:v1: no answer from " .. FAULTS .. " within 0.5 s", r, err)
  t.ok(took >= 0.45 and took < 1.5, "took " .. took)
  local refs = {}
  for i = 1, 20 do refs[i] = FAULTS .. "/stall/app:s" .. i end
  local rs
  took, rs = elapsed(registry.digests, refs, { timeout = 0.5 })
  t.ok(took < 1.5, "the others fail with the first, not one timeout after another: " .. took)
  for i = 1, 20 do
    t.eq(rs[i].error.message, refs[i] .. ": no answer from " .. FAULTS .. " within 0.5 s")
  end
end)

t.test("tags: pages with n and last, through a Link URL or path; limit", function()
  local all = { "a", "b", "c", "d", "e" }
  t.eq(assert(registry.tags(FAULTS .. "/paged", { page = 2 })), all)
  t.eq(assert(registry.tags(FAULTS .. "/paged-rel", { page = 1 })), all)
  t.eq(assert(registry.tags(FAULTS .. "/paged-rel", { page = 2, limit = 3 })), { "a", "b", "c" })
  local c = stats(FAULTS).counts
  t.eq({ c["pages paged"], c["pages paged-rel"] }, { 3, 5 + 2 })
end)

t.test("pace: interval between requests to one registry", function()
  local refs = {}
  for i = 1, 5 do refs[i] = FAULTS .. "/ok/app:p" .. i end
  local took, rs = elapsed(registry.digests, refs, { interval = 0.1 })
  for i = 1, 5 do t.eq(rs[i].digest, expected) end
  t.ok(took >= 0.39 and took < 2, "took " .. took)
end)

t.test("per_host bounds the transfers in flight; figures with 20 ms answers", function()
  local refs = {}
  for i = 1, 100 do refs[i] = FAULTS .. "/slow/app:t" .. i end
  assert(health.http("http://" .. FAULTS .. "/reset"))
  local took, rs = elapsed(registry.digests, refs, { per_host = 4 })
  for i = 1, 100 do t.eq(rs[i].digest, expected) end
  local max = stats(FAULTS).max_inflight
  t.ok(max >= 2 and max <= 4, "at most 4 at once, got " .. max)
  local wide = elapsed(registry.digests, refs)
  local one = elapsed(function()
    for i = 1, 100 do assert(registry.digest(refs[i])) end
  end)
  print(string.format("figures: a registry answering in 20 ms, 100 digests: %.0f ms at once "
    .. "(per_host = 8), %.0f ms with per_host = 4, %.0f ms one call each", wide * 1000, took * 1000, one * 1000))
  t.ok(wide < one / 3, "concurrency pays")
end)

-- ---------------------------------------------------------------- the token flow

t.test("anonymous token: fetched once per repository, then cached", function()
  local a = assert(registry.digest(AUTHF .. "/bearer/app:v1"))
  local b = assert(registry.digest(AUTHF .. "/bearer/app:v2"))
  t.eq({ a.digest, b.digest }, { expected, expected })
  t.eq(stats(AUTHF).tokens, 1)
  local c = stats(AUTHF).counts
  t.eq({ c["HEAD bearer/app:v1"], c["HEAD bearer/app:v2"] }, { 2, 1 })
  local refs = {}
  for i = 1, 20 do refs[i] = AUTHF .. "/bearer/app:c" .. i end
  for _, r in ipairs(registry.digests(refs)) do t.eq(r.digest, expected) end
  t.eq(stats(AUTHF).tokens, 1, "still one token")
end)

t.test("a token the registry refuses: unauthorized", function()
  t.fails("unauthorized", AUTHF .. "/bearer/denied:v1: unauthorized (401), no credentials for " .. AUTHF,
    registry.digest(AUTHF .. "/bearer/denied:v1"))
end)

t.test("a token server answering HTML: malformed", function()
  t.fails("http", AUTHF .. "/badtoken/app:v1: malformed answer from " .. AUTHF .. ": no token",
    registry.digest(AUTHF .. "/badtoken/app:v1"))
end)

return t.done()
