local t = require "t"
local backup = require "claw.backup"

local dir = t.tmpdir()
local store = dir .. "/store"
local cfg = dir .. "/openclaw.json"

t.test("save writes a copy, the .pre-update file and a checksum", function()
  t.write(cfg, '{"v":1}')
  local b = assert(backup.save(cfg, { dir = store }))
  t.eq(b.source, cfg)
  t.eq(b.size, 7)
  t.eq(b.sha256, assert(backup.sha256(cfg)))
  t.eq(t.read(b.path), '{"v":1}')
  t.eq(t.read(cfg .. ".pre-update"), '{"v":1}')
  t.ok(b.id:match("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%d%.%d%d%dZ"), "id " .. b.id)
end)

t.test("restore puts the newest copy back after a change and after deletion", function()
  t.write(cfg, '{"v":2,"migrated":true}')
  assert(backup.restore(cfg, { dir = store }))
  t.eq(t.read(cfg), '{"v":1}')
  os.remove(cfg)
  assert(backup.restore(cfg, { dir = store, which = "pre-update" }))
  t.eq(t.read(cfg), '{"v":1}')
end)

t.test("pre_update = false: a copy, and FILE.pre-update left as it is", function()
  local f = dir .. "/pre.json"
  t.write(f, '{"v":1}')
  assert(backup.save(f, { dir = store }))
  t.write(f, '{"v":2}')
  local b = assert(backup.save(f, { dir = store, pre_update = false }))
  t.eq(t.read(b.path), '{"v":2}')
  t.eq(t.read(f .. ".pre-update"), '{"v":1}')
  t.write(f, '{"v":3}')
  assert(backup.restore(f, { dir = store, which = "pre-update" }))
  t.eq(t.read(f), '{"v":1}')
end)

t.test("list is newest first; keep prunes; which takes an index", function()
  for i = 2, 4 do
    t.write(cfg, '{"v":' .. i .. '}')
    assert(backup.save(cfg, { dir = store, keep = 3 }))
  end
  local list = assert(backup.list(cfg, { dir = store }))
  t.eq(#list, 3)
  t.eq(t.read(list[1].path), '{"v":4}')
  t.eq(t.read(list[3].path), '{"v":2}')
  assert(backup.restore(cfg, { dir = store, which = 3 }))
  t.eq(t.read(cfg), '{"v":2}')
  assert(backup.restore(cfg, { dir = store, which = list[2].id }))
  t.eq(t.read(cfg), '{"v":3}')
end)

t.test("a corrupt copy is refused and nothing changes", function()
  local list = assert(backup.list(cfg, { dir = store }))
  t.write(list[1].path, "tampered")
  t.write(cfg, "current")
  t.fails("checksum", "backup " .. list[1].id .. " of " .. cfg .. " is corrupt: sha256 mismatch",
    backup.restore(cfg, { dir = store }))
  t.eq(t.read(cfg), "current")
end)

t.test("missing things are named", function()
  t.fails("not_found", "cannot back up " .. dir .. "/nope.json: No such file or directory",
    backup.save(dir .. "/nope.json", { dir = store }))
  t.fails("not_found", "no backup of " .. dir .. "/never.json", backup.restore(dir .. "/never.json", { dir = store }))
  t.eq(#assert(backup.list(dir .. "/never.json", { dir = store })), 0)
  t.fails("not_found", "cannot read " .. dir .. "/nope.json: No such file or directory", backup.sha256(dir .. "/nope.json"))
end)

-- Directories: a state directory an application migrates on upgrade.
local state = dir .. "/state"
local function sh(cmd) assert(os.execute(cmd), cmd) end
-- type, mode, mtime, link target and name of everything below d, then the sha256s
local function listing(d)
  local p = io.popen("cd '" .. d .. "' && find . -mindepth 1 -printf '%y %m %T@ [%l] %p\\n' | LC_ALL=C sort"
    .. " && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum")
  local text = p:read("a")
  p:close()
  return text
end

t.test("save snapshots a directory: files, empty dirs, symlinks, modes", function()
  sh("mkdir -p '" .. state .. "/agents/main' '" .. state .. "/empty'")
  t.write(state .. "/openclaw.json", '{"v":1}')
  t.write(state .. "/agents/main/session.jsonl", "hello\n")
  sh("chmod 600 '" .. state .. "/openclaw.json' && ln -s agents/main '" .. state .. "/current'")
  local b = assert(backup.save(state, { dir = store }))
  t.eq(b.kind, "dir")
  t.eq(b.source, state)
  t.eq(b.files, 2)
  t.eq(b.size, 7 + 6)
  t.eq(b.sha256, assert(backup.sha256(b.path .. "/SHA256SUMS")))
  t.eq(listing(b.path .. "/tree"), listing(state))
  t.ok(os.execute("cd '" .. b.path .. "' && sha256sum --quiet --strict -c SHA256SUMS"), "sha256sum -c")
  t.eq(io.open(state .. ".pre-update"), nil)
end)

t.test("restore puts the whole tree back: added files go, changed ones come back", function()
  local before = listing(state)
  t.write(state .. "/openclaw.json", '{"v":2,"migrated":true}')
  t.write(state .. "/agents/main/new.db", "v2 schema")
  sh("rm -rf '" .. state .. "/empty' && chmod 644 '" .. state .. "/openclaw.json'")
  local r = assert(backup.restore(state, { dir = store }))
  t.eq(r.kind, "dir")
  t.eq(r.files, 2)
  t.eq(listing(state), before)
  t.eq(t.read(state .. "/openclaw.json"), '{"v":1}')
end)

t.test("a corrupt snapshot is refused, naming the file, and nothing changes", function()
  local list = assert(backup.list(state, { dir = store }))
  t.eq(#list, 1)
  t.eq(list[1].kind, "dir")
  t.eq(list[1].files, 2)
  t.write(list[1].path .. "/tree/agents/main/session.jsonl", "tampered\n")
  t.write(state .. "/added", "x")
  local before = listing(state)
  t.fails("checksum", "backup " .. list[1].id .. " of " .. state
    .. " is corrupt: sha256 mismatch in agents/main/session.jsonl", backup.restore(state, { dir = store }))
  t.eq(listing(state), before)
  t.write(list[1].path .. "/tree/agents/main/session.jsonl", "hello\n")
  os.remove(state .. "/added")
end)

t.test("which and keep work for snapshots; they have no pre-update", function()
  for i = 2, 3 do
    t.write(state .. "/openclaw.json", '{"v":' .. i .. '}')
    assert(backup.save(state, { dir = store, keep = 2 }))
  end
  local list = assert(backup.list(state, { dir = store }))
  t.eq(#list, 2)
  t.write(state .. "/later", "written after every save")
  assert(backup.restore(state, { dir = store, which = 2 }))
  t.eq(io.open(state .. "/later"), nil)
  t.eq(t.read(state .. "/openclaw.json"), '{"v":2}')
  t.eq(io.open(state .. "/agents/main/new.db"), nil)
  t.fails("not_found", "no backup \"pre-update\" of " .. state .. ": a directory or volume has none; use \"latest\"",
    backup.restore(state, { dir = store, which = "pre-update" }))
end)

t.test("device files and FIFOs are refused by name", function()
  sh("mkfifo '" .. state .. "/agents/pipe'")
  t.fails("invalid", "cannot back up " .. state .. ": agents/pipe is a FIFO; a snapshot keeps only regular files, directories and symlinks",
    backup.save(state, { dir = store }))
  os.remove(state .. "/agents/pipe")
end)

t.test("volumes are named volume:NAME; a list needs no Docker", function()
  t.eq(#assert(backup.list("volume:openclaw-state", { dir = store })), 0)
  t.fails("invalid", 'invalid volume name "../x"', backup.save_volume("../x", { dir = store }))
  t.fails("invalid", 'invalid volume name "-x"', backup.save_volume("-x"))
  t.fails("invalid", 'invalid volume name "a b"', backup.restore_volume("a b"))
  t.fails("invalid", 'invalid volume name "a/b"', backup.list("volume:a/b", { dir = store }))
  t.raises("~^bad argument #2 to '[%w.]*save_volume' %(field 'keep' must be a number", backup.save_volume, "data", { keep = "many" })
end)

os.execute("rm -rf '" .. dir .. "'")
return t.done()
