local t = require "t"
local json = require "claw.json"

t.test("decode scalars and structures", function()
  t.eq(json.decode('{"a":1,"b":[true,false,"x"],"c":{"d":2.5}}'),
    { a = 1, b = { true, false, "x" }, c = { d = 2.5 } })
  t.eq(math.type(json.decode("3")), "integer")
  t.eq(math.type(json.decode("3.5")), "float")
  t.eq(json.decode('"\\u00e9"'), "é")
end)

t.test("null is json.null both ways", function()
  local v = json.decode('{"a":null,"b":[null]}')
  t.eq(v.a, json.null)
  t.eq(v.b[1], json.null)
  t.eq(json.encode({ a = json.null }), '{"a":null}')
end)

t.test("arrays stay arrays, empty tables are objects unless marked", function()
  t.eq(json.encode(json.decode("[]")), "[]")
  t.eq(json.encode({}), "{}")
  t.eq(json.encode(json.array()), "[]")
  t.eq(json.encode({ 1, 2, 3 }), "[1,2,3]")
  t.eq(json.encode(json.decode('{"x":{}}')), '{"x":{}}')
end)

t.test("encode round trip", function()
  local v = { name = "gw", ports = { "18789/tcp" }, n = 1.5, ok = true }
  t.eq(json.decode(json.encode(v)), v)
  t.eq(json.encode(42), "42")
  t.eq(json.encode("a\"b"), '"a\\"b"')
end)

t.test("pretty printing", function()
  t.ok(json.encode({ a = 1 }, { pretty = true }):find("\n"), "newlines")
end)

t.test("malformed JSON gives the byte offset", function()
  t.fails("parse", "invalid JSON at byte 7 near '}'", json.decode('{"a":1,}'))
  t.fails("parse", "invalid JSON at byte 5 near '1'", json.decode('{"a":1'))
  t.fails("parse", "invalid JSON: unexpected end at byte 0", json.decode(''))
  t.fails("parse", "invalid JSON at byte 3 near 'x'", json.decode('[1]x'))
end)

t.test("what cannot be JSON is refused", function()
  local cyclic = {}
  cyclic.self = cyclic
  t.raises("bad argument #1 to 'claw.json.encode' (cannot encode as JSON: nested deeper than 128 levels (a cycle?))", json.encode, cyclic)
  t.raises("bad argument #1 to 'claw.json.encode' (cannot encode a function as JSON)", json.encode, print)
  t.raises("bad argument #1 to 'claw.json.encode' (cannot encode a table with number keys as JSON)", json.encode, { [1] = 1, [3] = 3 })
  t.raises("bad argument #1 to 'claw.json.encode' (cannot encode inf as JSON)", json.encode, math.huge)
end)

t.test("wrong argument types", function()
  t.raises("bad argument #1 to 'claw.json.decode' (string expected, got table)", json.decode, {})
  t.raises("bad argument #1 to 'claw.json.encode' (value expected)", json.encode)
  t.raises("bad argument #2 to 'claw.json.encode' (table expected, got number)", json.encode, 1, 2)
  t.raises("bad argument #1 to 'claw.json.array' (table expected, got string)", json.array, "x")
end)

return t.done()
