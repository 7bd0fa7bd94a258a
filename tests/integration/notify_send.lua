-- For test_notify.sh: clawengine run notify_send.lua URL [SUBJECT [TEXT [TIMEOUT]]]
-- sends one notification (fields, as JSON, from $NOTIFY_FIELDS) and prints "sent",
-- or "error CODE STATUS: MESSAGE" and exits with 1.
local notify = require "claw.notify"
local json = require "claw.json"
local url, subject, text, timeout = ...
local fields = os.getenv("NOTIFY_FIELDS")
local ok, err = notify.send(url, {
  subject = subject, text = text, timeout = tonumber(timeout),
  fields = fields and json.decode(fields) or nil,
})
if ok then
  print("sent")
  return 0
end
print(string.format("error %s %d: %s", err.code, err.status or 0, err.message))
return 1
