local image = require "claw.image"
local t = require "t"

t.test("repository of a reference", function()
  t.eq(image.repository("openclaw/gateway:2026.9.6"), "openclaw/gateway")
  t.eq(image.repository("openclaw/gateway"), "openclaw/gateway")
  t.eq(image.repository("localhost:5000/app:v1"), "localhost:5000/app")
  t.eq(image.repository("localhost:5000/app"), "localhost:5000/app")
  t.eq(image.repository("nginx@sha256:0123"), "nginx")
  t.eq(image.repository("ghcr.io/a/b:1@sha256:0123"), "ghcr.io/a/b")
end)

t.test("digest: the RepoDigest of the reference's repository (without one, the first)", function()
  local img = { RepoDigests = { "mirror.example/app@sha256:aaa", "localhost:5000/app@sha256:bbb" } }
  t.eq(image.digest(img, "localhost:5000/app:v2"), "sha256:bbb")
  t.eq(image.digest(img, "other/app:v2"), nil) -- (pushed under other names only: none of its own)
  t.eq(image.digest(img), "sha256:aaa")
  t.eq(image.digest({ RepoDigests = {} }, "app:v1"), nil)
  t.eq(image.digest({}, "app:v1"), nil)
  -- Docker Hub's short and long forms are one repository
  local hub = { RepoDigests = { "nginx@sha256:ccc" } }
  t.eq(image.digest(hub, "docker.io/library/nginx:1.25"), "sha256:ccc")
  t.eq(image.digest(hub, "library/nginx"), "sha256:ccc")
  t.eq(image.digest(hub, "nginx:1.25"), "sha256:ccc")
  t.eq(image.digest(hub, "ghcr.io/library/nginx:1.25"), nil)
  t.eq(image.where("docker.io/library/nginx:1.25"), "docker.io/library/nginx")
end)

return t.done()
