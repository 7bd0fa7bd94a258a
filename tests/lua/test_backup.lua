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

os.execute("rm -rf '" .. dir .. "'")
return t.done()
