-- policies/scheduled.lua, run as a user runs it: a child engine whose stderr is read.
local cron = require "claw.cron"
local process = require "claw.process"
local t = require "t"
local time = require "claw.time"

local exe, dir = arg[-1], t.tmpdir()
local scheduled = "../../policies/scheduled.lua"

-- Runs the engine with args for `seconds` (then SIGTERM), or to its end; returns
-- its exit code and stderr.
local function run(args, seconds)
  local cmd = { exe, "run", scheduled }
  table.move(args, 1, #args, #cmd + 1, cmd)
  local quoted = {}
  for i, a in ipairs(cmd) do quoted[i] = "'" .. a:gsub("'", "'\\''") .. "'" end
  local p = assert(process.spawn({ "sh", "-c", "exec " .. table.concat(quoted, " ") .. " 2>'" .. dir .. "/err'" }))
  local code = p:wait(seconds)
  if not code then
    p:kill("TERM")
    code = assert(p:wait(30))
  end
  return code, t.read(dir .. "/err")
end

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

t.write(dir .. "/slow.lua", [[
local time = require "claw.time"
io.stderr:write("slow run with ", table.concat(arg, ","), "\n")
time.sleep(2.5)
]])
t.write(dir .. "/crash.lua", [[os.exit(3)]])

t.test("a policy slower than the schedule's period makes the next runs skipped", function()
  local code, err = run({ "--schedule", "@every 1s", "--run-on-start", dir .. "/slow.lua", "--", "a", "b" }, 5.5)
  t.eq(code, 0, "exit code after SIGTERM")
  local runs, failed, skipped = err:match("scheduled: (%d+) run%(s%), (%d+) failed, (%d+) skipped %(still running%), 0 outside the window\n$")
  t.ok(runs, "summary line in: " .. err)
  runs, skipped = tonumber(runs), tonumber(skipped)
  t.ok(runs >= 1 and runs <= 3, "runs: " .. runs)
  t.ok(skipped >= 2, "skipped: " .. skipped)
  t.eq(tonumber(failed), 0)
  t.eq(count(err, "warn  skipped: the previous run is still going"), skipped)
  t.eq(count(err, "slow run with a,b\n"), runs)
  -- never two runs at once: each start follows the previous end
  local open = 0
  for line in err:gmatch("[^\n]+") do
    if line:find("info  run started") then open = open + 1; t.eq(open, 1, "runs under way") end
    if line:find("run ended") or line:find("run stopped") then open = open - 1 end
  end
end)

t.test("a crashing policy does not stop the schedule", function()
  local code, err = run({ "--schedule", "@every 1s", dir .. "/crash.lua" }, 3.5)
  t.eq(code, 0)
  t.ok(count(err, "warn  run ended[^\n]*exit=3") >= 2, "two failed runs in: " .. err)
  t.ok(err:find("scheduled: %d+ run%(s%), %d+ failed, 0 skipped"), "summary")
end)

t.test("a due time outside the window is not run", function()
  -- a window that starts two hours from now excludes the next few seconds
  local h = tonumber(time.format(time.now() + 7200, "%H", { utc = true }))
  local w = string.format("%02d:00-%02d:30", h, h)
  local code, err = run({ "--schedule", "CRON_TZ=UTC * * * * * *", "--window", w, dir .. "/crash.lua" }, 2.5)
  t.eq(code, 0)
  t.ok(err:find("scheduled: 0 run%(s%), 0 failed, 0 skipped %(still running%), %d+ outside the window"), err)
  t.ok(err:find("info  outside the window: not run", 1, true), err)
end)

t.test("--dry-run prints the next times and runs nothing", function()
  local expr = "CRON_TZ=UTC 0 4 1 1 *"
  local cmd = string.format("'%s' --dry-run run '%s' --schedule '%s' '%s/slow.lua' -- x 2>&1", exe, scheduled, expr, dir)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  local want = { "would run: " .. exe .. " run " .. dir .. "/slow.lua x", "at:" }
  local at = time.now()
  for _ = 1, 5 do
    at = assert(cron.next(expr, at))
    want[#want + 1] = "  " .. time.format(at, "%Y-%m-%d %H:%M:%S UTC", { utc = true })
  end
  t.eq(out, table.concat(want, "\n") .. "\n")
end)

t.test("bad input: one message, exit 2", function()
  local code, err = run({ "--schedule", "0 25 * * *", dir .. "/slow.lua" })
  t.eq(code, 2)
  t.eq(err, 'clawengine: --schedule "0 25 * * *": hour field "25": 25 is out of range 0-23\n'
    .. "usage: clawengine run policies/scheduled.lua --schedule EXPR [OPTIONS] POLICY.lua [-- ARGS...]\n")
  code, err = run({ "--schedule", "@daily", dir .. "/missing.lua" })
  t.eq(code, 2)
  t.ok(err:find("clawengine: cannot read the policy " .. dir .. "/missing.lua\n", 1, true), err)
  code, err = run({ "--schedule", "@daily", "--window", "25:00-03:00", dir .. "/slow.lua" })
  t.eq(code, 2)
  t.ok(err:find('clawengine: --window "25:00-03:00" is not HH:MM-HH:MM with two different times\n', 1, true), err)
  code, err = run({ dir .. "/slow.lua" })
  t.eq(code, 2)
  t.ok(err:find("clawengine: --schedule is required\n", 1, true), err)
  code, err = run({ "--schedule", "@daily", "--stop-timeout", "-1", dir .. "/slow.lua" })
  t.eq(code, 2)
  t.ok(err:find("clawengine: --stop-timeout must be seconds from 0 to 86400, not -1\n", 1, true), err)
end)

return t.done()
