local t = require "t"
local time = require "claw.time"

t.test("now and monotonic advance", function()
  local a, m = time.now(), time.monotonic()
  t.ok(a > 1.7e9, "epoch seconds")
  t.ok(time.sleep(0.05))
  t.ok(time.monotonic() - m >= 0.05, "slept")
end)

t.test("format is ISO 8601 UTC by default", function()
  t.eq(time.format(0), "1970-01-01T00:00:00Z")
  t.eq(time.format(1795776947.5), "2026-11-27T10:55:47Z")
  t.eq(time.format(0, "%Y", { utc = true }), "1970")
end)

t.test("parse reads Docker's RFC 3339 times", function()
  t.eq(time.parse("1970-01-01T00:00:10Z"), 10.0)
  t.eq(time.parse("2026-11-27T10:55:47.5Z"), 1795776947.5)
  t.eq(time.parse("1970-01-01T01:00:00+01:00"), 0.0)
  t.fails("invalid", 'not an RFC 3339 time: "yesterday"', time.parse("yesterday"))
end)

t.test("wrong argument types", function()
  t.raises("bad argument #1 to 'claw.time.sleep' (number expected, got string)", time.sleep, "x")
  t.raises("bad argument #1 to 'claw.time.format' (number expected, got no value)", time.format)
  t.raises("bad argument #3 to 'claw.time.format' (field 'utc' must be a boolean, got string)", time.format, 0, "%Y", { utc = "yes" })
  t.raises("bad argument #1 to 'claw.time.parse' (string expected, got table)", time.parse, {})
end)

return t.done()
