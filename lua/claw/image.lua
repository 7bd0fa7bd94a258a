--- claw.image: facts about images that several policies read.
local docker = require "claw.docker"
local registry = require "claw.registry"

local image = {}

--- The repository of a reference: "openclaw/gateway" out of
-- "openclaw/gateway:2026.9.6" or "openclaw/gateway@sha256:..."; a registry's port
-- stays ("localhost:5000/app:v1" -> "localhost:5000/app").
function image.repository(ref)
  local repo = ref:gsub("@.*$", "")
  local last = repo:match("[^/]+$")
  if last:find(":") then repo = repo:sub(1, #repo - #last) .. last:gsub(":.*$", "") end
  return repo
end

--- The digest a registry knows an image by (sha256:...): its RepoDigest for the
-- repository of `ref` (without `ref`, its first); nil for an image built here and
-- never pushed or pulled under that name. `img` is docker.image's result, or an ID.
function image.digest(img, ref)
  if type(img) == "string" then img = docker.image(img) end
  local repo = ref and image.where(ref)
  for _, d in ipairs(img and img.RepoDigests or {}) do
    if not repo or image.where(d) == repo then return d:match("@(.+)$") end
  end
  return nil
end

--- "registry/repository" of a reference, Docker Hub's short forms spelled out
-- ("nginx" and "docker.io/library/nginx:1.25" are both "docker.io/library/nginx").
function image.where(ref)
  local repo = image.repository(ref)
  local p = registry.parse(repo)
  return p and (p.registry .. "/" .. p.repository) or repo
end

return image
