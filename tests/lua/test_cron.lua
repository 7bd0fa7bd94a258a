local cron = require "claw.cron"
local t = require "t"
local time = require "claw.time"

-- Unix seconds of an RFC 3339 time, to write the tables in wall-clock terms.
local function at(s) return math.floor(time.parse(s)) end

t.test("next after a given time, in UTC and in a zone", function()
  t.eq(cron.next("CRON_TZ=UTC 0 4 * * *", at("2026-11-26T10:00:00Z")), at("2026-11-27T04:00:00Z"))
  t.eq(cron.next("CRON_TZ=Europe/Berlin 0 4 * * *", at("2026-11-26T10:00:00Z")), at("2026-11-27T04:00:00+01:00"))
  t.eq(cron.next("CRON_TZ=UTC 0 0 4 * * *", at("2026-11-26T10:00:00Z")), at("2026-11-27T04:00:00Z"))
  t.eq(cron.next("@every 90s", 1000), 1090)
  -- fractions of a second are dropped before counting
  t.eq(cron.next("@every 1s", 1000.7), 1001)
end)

t.test("a parsed schedule counts from now by default", function()
  local s = assert(cron.parse("*/5 * * * * *"))
  local now = time.now()
  local n = s:next()
  t.ok(n > now and n <= now + 5, "within 5 s")
  t.eq(n % 5, 0)
  t.eq(s:zone(), "")
  t.eq(tostring(s), "*/5 * * * * *")
  t.eq(assert(cron.parse("CRON_TZ=Asia/Tokyo @daily")):zone(), "Asia/Tokyo")
end)

t.test("daylight saving: a skipped time is not due that day, a repeated one twice", function()
  local s = assert(cron.parse("CRON_TZ=America/New_York 30 1 * * *"))
  local first = s:next(at("2026-11-01T00:00:00-04:00"))
  t.eq(first, at("2026-11-01T01:30:00-04:00"))
  t.eq(s:next(first), at("2026-11-01T01:30:00-05:00"))
  t.eq(cron.next("CRON_TZ=America/New_York 30 2 * * *", at("2026-03-07T12:00:00-05:00")),
    at("2026-03-09T02:30:00-04:00"))
end)

t.test("a malformed expression is refused, naming the field and the reason", function()
  t.fails("invalid", 'hour field "25": 25 is out of range 0-23', cron.parse("0 25 * * *"))
  t.fails("invalid", 'day-of-week field "MON-FOO": "FOO" is not a number or a day name',
    cron.next("0 0 * * MON-FOO"))
  t.fails("invalid", '~^unknown time zone "Nowhere/City"', cron.parse("CRON_TZ=Nowhere/City @daily"))
end)

t.test("wrong argument types", function()
  t.raises("bad argument #1 to 'claw.cron.parse' (string expected, got no value)", cron.parse)
  t.raises("bad argument #2 to 'claw.cron.next' (number expected, got string)", cron.next, "@daily", "now")
  local s = assert(cron.parse("@daily"))
  t.raises("~number expected, got string", s.next, s, "soon")
end)

t.test("time.format reads a zone", function()
  t.eq(time.format(at("2026-07-01T12:00:00Z"), "%H:%M %Z", { zone = "Europe/Berlin" }), "14:00 CEST")
  t.eq(time.format(at("2026-12-01T12:00:00Z"), "%H:%M %Z", { zone = "Europe/Berlin" }), "13:00 CET")
  t.eq(time.format(0, nil, { zone = "Asia/Tokyo" }), "1970-01-01T09:00:00+09:00")
  t.eq(time.format(0, nil, { zone = "America/New_York" }), "1969-12-31T19:00:00-05:00")
  t.raises('bad argument #3 to \'claw.time.format\' (unknown time zone "Mars/Base")', time.format, 0, "%H", { zone = "Mars/Base" })
end)

return t.done()
