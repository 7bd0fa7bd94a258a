-- claw.notify without a server: parse, mask, targets, argument errors, failures
-- that need no peer (refused connections), and the default templates' exact text.
-- Sending to real servers is tested in tests/integration/test_notify.sh.
local t = require "t"
local notify = require "claw.notify"
local templates = require "claw.notify_templates"

local D1 = "sha256:" .. string.rep("a", 64)
local D2 = "sha256:" .. string.rep("b", 64)

t.test("parse: email, secrets masked", function()
  t.eq(notify.parse("smtp://bob:hunter2@mail.example.com:587/?from=claw@example.com&to=ops@example.com,dev@example.com&starttls=yes"), {
    kind = "email", scheme = "smtp",
    url = "smtp://bob:***@mail.example.com:587/?from=claw@example.com&to=ops@example.com,dev@example.com&starttls=yes",
    endpoint = "smtp://mail.example.com:587/", user = "bob", password = "***",
    from = "claw@example.com", to = { "ops@example.com", "dev@example.com" }, tls = "starttls",
  })
  t.eq(notify.parse("smtps://mail.example.com/?from=a@example.com&to=b@example.com").tls, "implicit")
  t.eq(notify.parse("smtps://mail.example.com/?from=a@example.com&to=b@example.com").endpoint,
    "smtps://mail.example.com:465/")
end)

t.test("parse: webhooks, tokens masked", function()
  t.eq(notify.parse("gotify://gotify.example.com/AppToken1?priority=5"), {
    kind = "gotify", scheme = "gotify", url = "gotify://gotify.example.com/***?priority=5",
    endpoint = "https://gotify.example.com/message", token = "***", method = "POST",
    headers = { "X-Gotify-Key: ***" }, options = { priority = 5 },
  })
  t.eq(notify.parse("discord://DiscordToken@123456"), {
    kind = "discord", scheme = "discord", url = "discord://***@123456",
    endpoint = "https://discord.com/api/webhooks/123456/***", method = "POST", headers = {},
  })
  local s = notify.parse("slack://T01/B02/SlackSecret")
  t.eq({ s.kind, s.url, s.endpoint }, { "slack", "slack://T01/B02/***", "https://hooks.slack.com/services/T01/B02/***" })
  local n = notify.parse("ntfy://ntfy.sh/claw-alerts?tags=whale")
  t.eq({ n.kind, n.endpoint, n.options }, { "ntfy", "https://ntfy.sh/", { topic = "claw-alerts", tags = { "whale" } } })
  t.eq(notify.parse("https://hooks.example.com/x?format=ntfy").kind, "ntfy")
  t.eq(notify.parse("generic+https://hooks.example.com/x?@X-Token=abc").headers, { "X-Token: ***" })
  t.eq(notify.parse("https://hooks.example.com/claw").kind, "generic")
end)

t.test("parse: invalid URLs", function()
  t.fails("invalid", 'unknown notification scheme "pushover" in pushover://shoutrrr:***@user/?devices=a '
    .. "(want smtp, smtps, http, https, ntfy, gotify, slack, discord, generic, generic+https or generic+http)",
    notify.parse("pushover://shoutrrr:apiToken@user/?devices=a"))
  t.fails("invalid", "notification URL smtp://u:***@h/?from=a@b: no recipient (want to=address[,address...])",
    notify.parse("smtp://u:secret@h/?from=a@b"))
  t.fails("invalid", 'notification URL ntfy://ntfy.sh/t?bogus=1: unknown parameter "bogus"',
    notify.parse("ntfy://ntfy.sh/t?bogus=1"))
end)

t.test("parse: secrets from files", function()
  local dir = t.tmpdir()
  t.write(dir .. "/pw", "filed-password\n")
  local p = notify.parse("smtp://bob@h/?from=a@b&to=c@d&password_file=" .. dir .. "/pw")
  t.eq({ p.password, p.password_file }, { "***", dir .. "/pw" })
  p = notify.parse("smtp://bob:@" .. dir .. "/pw@h:587/?from=a@b&to=c@d")
  t.eq({ p.password, p.password_file, p.url }, { "***", dir .. "/pw", "smtp://bob:***@h:587/?from=a@b&to=c@d" })
  t.fails("invalid", "~cannot read token_file " .. dir:gsub("%p", "%%%0") .. "/none: No such file or directory$",
    notify.parse("gotify://h/?token_file=" .. dir .. "/none"))
  os.execute("rm -rf '" .. dir .. "'")
end)

t.test("mask", function()
  t.eq(notify.mask("failed: smtp://bob:hunter2@mail:587/?to=a@b and https://x:y@h/"),
    "failed: smtp://bob:***@mail:587/?to=a@b and https://x:***@h/")
  t.eq(notify.mask("nothing secret"), "nothing secret")
  t.eq(notify.mask("gotify://h/AppTok and discord://Tok@1, https://h/?token=x"),
    "gotify://h/*** and discord://***@1, https://h/?token=***")
end)

t.test("targets", function()
  t.eq(notify.targets { "smtp://h/?from=a@b&to=c@d", "ntfy://ntfy.sh/x  gotify://h/tok" },
    { "smtp://h/?from=a@b&to=c@d", "ntfy://ntfy.sh/x", "gotify://h/tok" })
  t.eq(notify.targets " ntfy://ntfy.sh/x\tdiscord://t@1 ", { "ntfy://ntfy.sh/x", "discord://t@1" })
  if not os.getenv("CLAWENGINE_NOTIFY") then
    t.eq(notify.targets(), {})
    t.eq(notify.targets {}, {})
  end
end)

t.test("send: failures without a peer", function()
  t.fails("invalid", 'notification URL smtp://h/?to=c@d: no sender (want from=address)',
    notify.send("smtp://h/?to=c@d", { subject = "s", text = "t" }))
  t.fails("unreachable", "~^smtp://u:%*%*%*@127%.0%.0%.1:1/%?from=a@b&to=c@d: cannot connect: .*Couldn't connect to server$",
    notify.send("smtp://u:pw@127.0.0.1:1/?from=a@b&to=c@d", { subject = "s" }))
  t.fails("unreachable", "~cannot connect", notify.send("http://127.0.0.1:1/", { text = "t", fields = {} }))
  t.fails("unreachable", "https://127.0.0.1:1/api/webhooks/1/***?format=discord: cannot connect: Couldn't connect to server: Connection refused",
    notify.send("https://127.0.0.1:1/api/webhooks/1/SECRET?format=discord", { text = "t" }))
end)

t.test("send: argument errors", function()
  t.raises("bad argument #1 to 'claw.notify.send' (string expected, got no value)", notify.send)
  t.raises("bad argument #1 to 'claw.notify.send' (empty URL)", notify.send, "", {})
  t.raises("bad argument #2 to 'claw.notify.send' (table expected, got string)", notify.send, "ntfy://h/t", "hi")
  t.raises("bad argument #2 to 'claw.notify.send' (a message needs a subject or a text)", notify.send, "ntfy://h/t", {})
  t.raises("bad argument #2 to 'claw.notify.send' (field 'subject' must be a string, got number)",
    notify.send, "ntfy://h/t", { subject = 1 })
  t.raises("bad argument #2 to 'claw.notify.send' (field 'timeout' must be positive)",
    notify.send, "ntfy://h/t", { text = "x", timeout = 0 })
  t.raises("bad argument #2 to 'claw.notify.send' (field 'fields' must be a table of named values)",
    notify.send, "ntfy://h/t", { text = "x", fields = { 1, 2 } })
  t.raises("bad argument #2 to 'claw.notify.send' (field 'fields' must be a table)",
    notify.send, "ntfy://h/t", { text = "x", fields = "a=b" })
  t.raises("bad argument #2 to 'claw.notify.send' (field 'template': no template 'weekly' in claw.notify_templates)",
    notify.send, "ntfy://h/t", { template = "weekly" })
  t.raises("bad argument #2 to 'claw.notify.send' (field 'template' must be a string or a function)",
    notify.send, "ntfy://h/t", { template = 1 })
  t.raises("~the notification template must return subject, text",
    notify.send, "ntfy://h/t", { template = function() return 1 end })
  t.raises("bad argument #1 to 'claw.notify.targets' (table, string or nil expected, got number)", notify.targets, 1)
  t.raises("bad argument #1 to 'claw.notify.parse' (empty URL)", notify.parse, "")
end)

t.test("template: updates", function()
  local subject, text = templates.updates {
    host = "gw1",
    containers = {
      { name = "openclaw-gateway", image = "openclaw/gateway:latest",
        current = { digest = D1, version = "2026.9.5" }, new = { digest = D2, version = "2026.9.6" } },
      { name = "db", image = "postgres:16.3", current = { digest = D1 }, new = { tag = "16.4" } },
    },
  }
  t.eq(subject, "clawengine: 2 updates available on gw1")
  t.eq(text, [[
2 updates are available on gw1:

openclaw-gateway (openclaw/gateway:latest)
  running: latest sha256:aaaaaaaaaaaa (version 2026.9.5)
  new:     latest sha256:bbbbbbbbbbbb (version 2026.9.6)
  update:  clawengine run policies/rolling.lua openclaw-gateway

db (postgres:16.3)
  running: 16.3 sha256:aaaaaaaaaaaa
  new:     16.4
  update:  clawengine run policies/rolling.lua db
]])
  subject, text = templates.updates { containers = {
    { name = "web", image = "nginx@" .. D1, current = { digest = D1 }, new = { digest = D2 } } },
    command = "clawengine run canary.lua %s" }
  t.eq(subject, "clawengine: 1 update available: web")
  t.eq(text, "An update is available:\n\nweb (nginx@" .. D1 .. ")\n  running: latest sha256:aaaaaaaaaaaa\n"
    .. "  new:     latest sha256:bbbbbbbbbbbb\n  update:  clawengine run canary.lua web\n")
  t.eq({ templates.updates { containers = {} } },
    { "clawengine: no updates available", "Every container runs its newest image.\n" })
end)

t.test("template: outcome", function()
  t.eq({ templates.outcome { container = "gw", status = "updated", host = "gw1", duration = 42.5,
    from = { tag = "latest", digest = D1, version = "2026.9.5" }, to = { tag = "latest", digest = D2, version = "2026.9.6" } } }, {
    "clawengine: gw updated to 2026.9.6 on gw1",
    "gw: updated\n  from:   latest sha256:aaaaaaaaaaaa (version 2026.9.5)\n"
      .. "  to:     latest sha256:bbbbbbbbbbbb (version 2026.9.6)\n  took:   42s\n" })
  t.eq({ templates.outcome { container = "gw", status = "rolled_back", reason = "not healthy within 60 s",
    from = { version = "2026.9.5" }, to = { version = "2026.9.6" } } }, {
    "clawengine: gw rolled back: not healthy within 60 s",
    "gw: rolled back\n  from:   version 2026.9.5\n  tried:  version 2026.9.6\n  reason: not healthy within 60 s\n" })
  t.eq({ templates.outcome { container = "gw", status = "failed", reason = "pull: manifest unknown" } }, {
    "clawengine: gw update failed: pull: manifest unknown", "gw: update failed\n  reason: pull: manifest unknown\n" })
  t.eq({ templates.outcome { { container = "a", status = "updated", to = { tag = "2", digest = D2 } },
    { container = "b", status = "failed", reason = "x" }, { container = "c", status = "failed", reason = "y" } } }, {
    "clawengine: 1 updated, 2 failed",
    "a: updated\n  to:     2 sha256:bbbbbbbbbbbb\n\nb: update failed\n  reason: x\n\nc: update failed\n  reason: y\n" })
end)

t.test("templates can be replaced", function()
  local saved = templates.updates
  templates.updates = function(report) return "site: " .. #report.containers, "custom" end
  -- the replacement is what send uses; the peer is unreachable, the template ran
  local ran
  t.fails("unreachable", "~cannot connect", notify.send("http://127.0.0.1:1/", {
    template = function(d) ran = d; return templates.updates(d) end, data = { containers = {} } }))
  t.eq(ran, { containers = {} })
  templates.updates = saved
end)

return t.done()
