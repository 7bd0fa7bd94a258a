-- notify-only.lua: finds which containers have an update, without pulling and
-- without changing anything, and sends one message listing them.
--
--   clawengine run policies/notify-only.lua [OPTIONS] [NAME...]
--
-- For each running container (or the NAMEs, or those with --label; stopped ones too
-- with --include-stopped), the registry
-- is asked for the digest of the image reference it was created from (a HEAD, no
-- pull) and compared with the image it runs; with --tags semver|calver, newer version
-- tags are looked for. An update already notified is not notified again (--always
-- resends). See docs/notify.md.
--
-- Exit codes: 0 no update; 5 updates available; 6 some checks failed (whatever the
-- others found); 7 a notification could not be sent; 2 usage; 4 Docker unreachable.
local args = require "claw.args"
local docker = require "claw.docker"
local engine = require "claw.engine"
local image = require "claw.image"
local json = require "claw.json"
local notices = require "claw.notices"
local registry = require "claw.registry"
local templates = require "claw.notify_templates"

local spec = {
  usage = "clawengine run policies/notify-only.lua [OPTIONS] [NAME...]",
  description = "Reports available image updates without pulling, and notifies them once.",
  options = {
    { "label", value = "KEY=VALUE", list = true, help = "only containers with this label" },
    { "include-stopped", help = "also check stopped containers (without NAMEs)" },
    { "notify", value = "URL", list = true, help = "where to send the message (default: $CLAWENGINE_NOTIFY)" },
    { "tags", value = "POLICY", default = "same", help = "same (the tag's digest changed), semver or calver (a newer tag)" },
    { "level", value = "LEVEL", default = "major", help = "with --tags: the largest step allowed: major, minor or patch" },
    { "include", value = "PATTERN", help = "with --tags: only tags this POSIX extended regular expression matches" },
    { "exclude", value = "PATTERN", help = "with --tags: never tags this POSIX extended regular expression matches" },
    { "insecure", value = "REGISTRY", list = true, help = "a registry reached over plain HTTP" },
    { "always", help = "notify again updates already notified" },
    { "concurrency", value = "N", number = true, default = 16, help = "registry requests at once" },
    { "json", help = "print the report as JSON" },
  },
}
local opts, names = args.parse(arg, spec)
if not ({ same = true, semver = true, calver = true })[opts.tags] then
  args.fail(spec, "--tags must be same, semver or calver, not %q", opts.tags)
end
if not ({ major = true, minor = true, patch = true })[opts.level] then
  args.fail(spec, "--level must be major, minor or patch, not %q", opts.level)
end
if opts.concurrency < 1 or opts.concurrency > 1000 or opts.concurrency % 1 ~= 0 then
  args.fail(spec, "--concurrency must be a whole number from 1 to 1000, not %s", opts.concurrency)
end
for _, o in ipairs { "include", "exclude" } do -- (checked on a version, before any request)
  local ok, err = pcall(registry.newer, "1.0.0", { "1.0.1" }, { [o] = opts[o] })
  if not ok then args.fail(spec, "--%s %s: %s", o, opts[o], tostring(err):match("%((.*)%)$") or tostring(err)) end
end
local targets = notices.targets(spec, opts.notify)

-- The containers to check.
local list
if #names > 0 then
  list = {}
  for _, n in ipairs(names) do
    local c, err = docker.inspect(n)
    if not c then args.fail(spec, "no container %q: %s", n, err.message) end
    list[#list + 1] = c
  end
else
  list = {}
  for _, s in ipairs(assert(docker.containers { all = opts.include_stopped,
    label = #opts.label > 0 and opts.label or nil })) do
    local c = docker.inspect(s.Id)
    if c then list[#list + 1] = c end
  end
end
table.sort(list, function(a, b) return a.Name < b.Name end)

-- One registry request per distinct reference, all at once.
local refs, index, images = {}, {}, {}
-- (an image built here, or pushed under another name only, has no digest of its
-- reference's repository to compare with: no request)
local function built_here(img, ref) return image.digest(img, ref) == nil end
for _, c in ipairs(list) do
  local ref = c.Config.Image
  images[c.Image] = images[c.Image] or docker.image(c.Image) or {}
  if not index[ref] and not ref:match("^sha256:") and not built_here(images[c.Image], ref) then
    refs[#refs + 1] = ref
    index[ref] = #refs
  end
end
local remote = #refs > 0 and registry.digests(refs, { concurrency = opts.concurrency,
  insecure = #opts.insecure > 0 and opts.insecure or nil }) or {}

local CHECK_OUTCOMES = { ["up to date"] = "up_to_date", ["update available"] = "update_available",
  ["check failed"] = "failed" }
local report, failed, found = {}, 0, {}
for _, c in ipairs(list) do
  local name, ref, img = c.Name:gsub("^/", ""), c.Config.Image, images[c.Image]
  local labels = img.Config and img.Config.Labels or {}
  local entry = { name = name, image = ref, current = { tag = templates.tag_of(ref),
    digest = image.digest(img, ref) or json.null,
    version = labels["org.opencontainers.image.version"] } }
  local r = index[ref] and remote[index[ref]]
  if ref:match("^sha256:") then
    entry.status = "not checked"
    entry.reason = "the container runs an image ID, not a reference"
  elseif built_here(img, ref) then
    entry.status = "not checked"
    entry.reason = "the image was built here, not pulled: nothing to compare"
  elseif r.error then
    entry.status, entry.reason = "check failed", r.error.message
    failed = failed + 1
  elseif opts.tags ~= "same" then
    local tags, err = registry.tags(image.repository(ref),
      { insecure = #opts.insecure > 0 and opts.insecure or nil })
    local best, nerr
    if tags then
      best, nerr = registry.newer(entry.current.tag, tags, { policy = opts.tags,
        level = opts.level, include = opts.include, exclude = opts.exclude })
    end
    if not tags then
      entry.status, entry.reason = "check failed", err.message
      failed = failed + 1
    elseif nerr then
      entry.status = "not checked"
      entry.reason = string.format("the tag %s is not a version (--tags %s)", entry.current.tag, opts.tags)
    elseif best and best ~= entry.current.tag then
      entry.status, entry.new = "update available", { tag = best }
    else
      entry.status = "up to date"
    end
  elseif registry.compare(img, r) then
    entry.status = "up to date"
  else
    entry.status, entry.new = "update available", { tag = entry.current.tag, digest = r.digest }
  end
  report[#report + 1] = entry
  if entry.status == "update available" then found[#found + 1] = entry end
  -- Under the daemon, each check counts in its /metrics; otherwise this does nothing.
  local counted = CHECK_OUTCOMES[entry.status]
  if counted then engine.report { kind = "check", target = name, outcome = counted } end
end

-- What was notified already: container -> what was new then.
local state_path = engine.state_dir .. "/notified.json"
local function load_state()
  local f = io.open(state_path, "r")
  if not f then return {} end
  local s = json.decode(f:read("a")) or {}
  f:close()
  return type(s) == "table" and s or {}
end
local function save_state(s)
  if engine.dry_run then return end
  os.execute("mkdir -p '" .. engine.state_dir .. "'")
  local tmp = state_path .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(json.encode(s))
  f:close()
  assert(os.rename(tmp, state_path))
end

local notified = load_state()
local fresh = {}
for _, e in ipairs(found) do
  local key = e.new.digest or e.new.tag
  if opts.always or notified[e.name] ~= key then fresh[#fresh + 1] = e end
end

local send_failed = 0
if #fresh > 0 and #targets > 0 then
  local subject, text = templates.updates { containers = fresh }
  send_failed = notices.send(targets, subject, text, { updates = #fresh })
  if send_failed < #targets then
    for _, e in ipairs(fresh) do notified[e.name] = e.new.digest or e.new.tag end
    save_state(notified)
  end
end
for _, e in ipairs(report) do
  e.notified = e.status == "update available" and notified[e.name] == (e.new.digest or e.new.tag) or nil
end

if opts.json or engine.json then
  io.write(json.encode(json.array(report)), "\n")
else
  for _, e in ipairs(report) do
    local what = e.status
    if e.new then what = what .. ": " .. templates.describe(e.new, e.image) end
    if e.reason then what = what .. ": " .. e.reason end
    io.write(string.format("%s (%s): %s\n", e.name, e.image, what))
  end
  if #report == 0 then io.stderr:write("no containers to check\n") end
end

if send_failed > 0 then return 7 end
if failed > 0 then return 6 end
if #found > 0 then return 5 end
return 0
