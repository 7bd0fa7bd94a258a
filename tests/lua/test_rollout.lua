-- claw.rollout's batching of the rollbacks a group's failure action starts
-- (R.rollback_group, Swarm's rollback_config), and R.duration. The rollbacks
-- themselves run on the real engine in tests/integration; here their phases are
-- stand-ins that say what happened, so that the order and the stops are exact.
local R = require "claw.rollout"
local t = require "t"

local begun_order -- the order the last rollback began with

-- Replaces the phases of a rollback: `fails[name]` is where that one fails
-- ("begin", "gate" or "monitor"). Returns the list of what happened, in order.
local function stand_in(fails)
  local seen = {}
  R.rollback_begin = function(name, opts)
    begun_order = opts.order
    seen[#seen + 1] = "start " .. name
    if fails[name] == "begin" then return nil, "no previous container" end
    return { name = name, new_id = "id-" .. name }
  end
  R.rollback_end = function(rb)
    seen[#seen + 1] = "serve " .. rb.name
    if fails[rb.name] == "gate" then return nil, "not healthy within 3 s" end
    return {}
  end
  R.monitor_all = function(us, seconds, _, during)
    local errs = {}
    for k, u in ipairs(us) do
      seen[#seen + 1] = string.format("watch %s %gs %s", u.name, seconds, during)
      if fails[u.name] == "monitor" then errs[k] = "exited" end
    end
    return errs
  end
  return seen
end

local function rollback_config(over)
  local rc = { parallelism = 1, delay = 0, failure_action = "pause", monitor = 2, max_failure_ratio = 0 }
  for k, v in pairs(over or {}) do rc[k] = v end
  return { rollback = rc }
end

local function outcomes(results)
  local out = {}
  for _, r in ipairs(results) do out[#out + 1] = r.name .. ": " .. r.outcome end
  return out
end

t.test("parallelism 2: a batch starts together, then passes its gates, then is watched", function()
  local seen, results = stand_in {}, {}
  R.rollback_group({ "a", "b", "c" }, rollback_config { parallelism = 2 }, results)
  t.eq(seen, { "start a", "start b", "serve a", "serve b", "watch a 2s after its rollback",
    "watch b 2s after its rollback", "start c", "serve c", "watch c 2s after its rollback" })
  t.eq(outcomes(results), { "a: rolled back", "b: rolled back", "c: rolled back" })
  t.eq(results[1].reason, "another target of the same group failed")
end)

t.test("parallelism 0: all in one batch", function()
  local seen = stand_in {}
  R.rollback_group({ "a", "b", "c" }, rollback_config { parallelism = 0, monitor = 0 }, {})
  t.eq(seen, { "start a", "start b", "start c", "serve a", "serve b", "serve c",
    "watch a 0s after its rollback", "watch b 0s after its rollback", "watch c 0s after its rollback" })
end)

t.test("pause: the first failed rollback leaves the rest on the new version", function()
  local seen, results = stand_in { a = "gate" }, {}
  R.rollback_group({ "a", "b", "c" }, rollback_config(), results)
  t.eq(seen, { "start a", "serve a" })
  t.eq(outcomes(results), { "a: rollback failed", "b: not rolled back", "c: not rolled back" })
  t.eq(results[1].reason, "not healthy within 3 s")
  t.eq(results[2].reason, "the rollback paused after 1 of 1 rollback(s) failed (rollback_config.failure_action)")
end)

t.test("pause counts a failure during the monitor window, and one at the start", function()
  local _, results = stand_in { a = "monitor" }, {}
  R.rollback_group({ "a", "b" }, rollback_config(), results)
  t.eq(outcomes(results), { "a: rollback failed", "b: not rolled back" })
  stand_in { a = "begin" }
  results = {}
  R.rollback_group({ "a", "b" }, rollback_config(), results)
  t.eq(outcomes(results), { "a: rollback failed", "b: not rolled back" })
end)

t.test("continue: every one is tried", function()
  local seen, results = stand_in { a = "gate", b = "begin" }, {}
  R.rollback_group({ "a", "b", "c" }, rollback_config { failure_action = "continue" }, results)
  t.eq(seen, { "start a", "serve a", "start b", "start c", "serve c", "watch c 2s after its rollback" })
  t.eq(outcomes(results), { "a: rollback failed", "b: rollback failed", "c: rolled back" })
end)

t.test("max_failure_ratio: pause only once failed / tried exceeds it", function()
  local _, results = stand_in { b = "gate" }, {}
  R.rollback_group({ "a", "b", "c", "d" }, rollback_config { max_failure_ratio = 0.5 }, results)
  -- after b: 1 of 2 failed (0.5, not above); c, d go on
  t.eq(outcomes(results), { "a: rolled back", "b: rollback failed", "c: rolled back", "d: rolled back" })
  stand_in { a = "gate" }
  results = {}
  R.rollback_group({ "a", "b" }, rollback_config { max_failure_ratio = 0.5 }, results)
  t.eq(outcomes(results), { "a: rollback failed", "b: not rolled back" })
end)

t.test("nothing to roll back: nothing happens, whatever the parallelism", function()
  local seen, results = stand_in {}, {}
  R.rollback_group({}, rollback_config { parallelism = 0 }, results)
  t.eq(#seen, 0)
  t.eq(results, {})
end)

t.test("the rollback's order is rollback_config's, not the update's", function()
  stand_in {}
  local opts = rollback_config()
  opts.order = "stop-first" -- the update's
  R.rollback_group({ "a" }, opts, {})
  t.eq(begun_order, false)
  opts.rollback.order = "stop-first"
  R.rollback_group({ "a" }, opts, {})
  t.eq(begun_order, "stop-first")
end)

t.test("R.duration: Compose durations, numbers, and nil for anything else", function()
  t.eq(R.duration("10s"), 10)
  t.eq(R.duration("1m30s"), 90)
  t.eq(R.duration("500ms"), 0.5)
  t.eq(R.duration("2h"), 7200)
  t.eq(R.duration(3), 3)
  t.eq(R.duration("2.5"), 2.5)
  t.eq(R.duration(nil), nil)
  for _, bad in ipairs { "", "soon", "10x", "1.2.3s", "5s later", "s" } do
    t.eq(R.duration(bad), nil, bad)
  end
end)

return t.done()
