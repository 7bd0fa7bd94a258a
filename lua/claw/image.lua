--- claw.image: facts about images that several policies read.
local docker = require "claw.docker"

local image = {}

--- The digest a registry knows an image by (sha256:...): its RepoDigest for the
-- repository of `ref` when it has one, else its first; nil for an image built here
-- and never pushed or pulled. `img` is docker.image's result, or an image ID.
function image.digest(img, ref)
  if type(img) == "string" then img = docker.image(img) end
  local repo = ref and ref:gsub("@.*$", ""):gsub(":[^:/]*$", "")
  local found
  for _, d in ipairs(img and img.RepoDigests or {}) do
    if not found or (repo and d:sub(1, #repo + 1) == repo .. "@") then found = d:match("@(.+)$") end
  end
  return found
end

return image
