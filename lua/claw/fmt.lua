--- claw.fmt: text for people — durations, short IDs, aligned tables.
local fmt = {}

--- "3d4h", "2h5m", "4m10s", "12s".
function fmt.duration(seconds)
  if not seconds or seconds < 0 then return "-" end
  local s = math.floor(seconds)
  local d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
  if d > 0 then return string.format("%dd%dh", d, h) end
  if h > 0 then return string.format("%dh%dm", h, m) end
  if m > 0 then return string.format("%dm%ds", m, s % 60) end
  return string.format("%ds", s)
end

--- "sha256:0123456789ab" from a full digest or ID; "-" for nil.
function fmt.short_digest(d)
  if type(d) ~= "string" or d == "" then return "-" end
  local algo, hex = d:match("^(%w+):(%x+)$")
  if algo then return algo .. ":" .. hex:sub(1, 12) end
  return d
end

--- Renders rows (lists of strings) under headers, columns padded to their widest.
function fmt.table(headers, rows)
  local widths = {}
  for i, h in ipairs(headers) do widths[i] = #h end
  for _, r in ipairs(rows) do
    for i, cell in ipairs(r) do widths[i] = math.max(widths[i] or 0, #tostring(cell)) end
  end
  local out = {}
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do
      parts[i] = i < #cells and string.format("%-" .. widths[i] .. "s", tostring(cell)) or tostring(cell)
    end
    out[#out + 1] = table.concat(parts, "  ")
  end
  line(headers)
  for _, r in ipairs(rows) do line(r) end
  return table.concat(out, "\n") .. "\n"
end

return fmt
