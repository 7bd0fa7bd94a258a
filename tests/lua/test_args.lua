local t = require "t"
local args = require "claw.args"

local spec = {
  usage = "clawengine run x.lua [OPTIONS]",
  options = {
    { "all", short = "a" },
    { "label", value = "KEY=VALUE", list = true },
    { "timeout", value = "SECONDS", number = true, default = 60 },
    { "image", value = "REF" },
    { "dry-run" },
  },
}

t.test("flags, values, lists, numbers, defaults and the rest", function()
  local o, rest = args.parse({ "-a", "--label", "a=1", "--label=b=2", "--image", "x:1", "one", "--dry-run", "two" }, spec)
  t.eq(o, { all = true, label = { "a=1", "b=2" }, timeout = 60, image = "x:1", dry_run = true })
  t.eq(rest, { "one", "two" })
  o, rest = args.parse({ "--timeout", "2.5", "--", "--all" }, spec)
  t.eq(o.timeout, 2.5)
  t.eq(rest, { "--all" })
end)

t.test("usage errors carry code usage and the usage line", function()
  local e = t.raises("unknown option --nope\nusage: clawengine run x.lua [OPTIONS]", args.parse, { "--nope" }, spec)
  t.eq(e.code, "usage")
  t.raises("option --timeout expects a number, got \"soon\"\nusage: clawengine run x.lua [OPTIONS]", args.parse, { "--timeout", "soon" }, spec)
  t.raises("option --image needs a value (REF)\nusage: clawengine run x.lua [OPTIONS]", args.parse, { "--image" }, spec)
  t.raises("option --all takes no value\nusage: clawengine run x.lua [OPTIONS]", args.parse, { "--all=yes" }, spec)
  t.raises("unknown option -z\nusage: clawengine run x.lua [OPTIONS]", args.parse, { "-z" }, spec)
end)

return t.done()
