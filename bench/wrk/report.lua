-- Shared by the bench's wrk scripts: counts the requests a thread built (`sent`) and, once wrk
-- is done, prints one JSON line that bench/wrk-client.ts parses: completed requests, duration,
-- errors by kind (status = answers >= 400), the requests built, wrk's own CPU seconds (from
-- /proc/self/stat, read while wrk still runs) and latency percentiles in microseconds.
local report = {}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local percentiles = { 0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 87.5, 90, 93.75, 95, 96.875, 98, 98.4375,
  99, 99.21875, 99.5, 99.609375, 99.8, 99.9, 99.95, 99.99, 99.999, 100 }

local function cpu_seconds()
  local f = io.open("/proc/self/stat", "r")
  if f == nil then return -1 end
  local stat = f:read("*a")
  f:close()
  local rest = stat:sub(stat:find("%)[^%)]*$") + 2)
  local fields = {}
  for field in rest:gmatch("%S+") do fields[#fields + 1] = field end
  -- utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100
end

function done(summary, latency, requests)
  local sent = 0
  for _, thread in ipairs(threads) do sent = sent + (tonumber(thread:get("sent")) or 0) end
  local points = {}
  for _, p in ipairs(percentiles) do
    local value = p == 0 and latency.min or (p == 100 and latency.max or latency:percentile(p))
    points[#points + 1] = string.format("[%s,%d]", tostring(p), value)
  end
  local e = summary.errors
  io.write(string.format(
    '\nWRK_RESULT {"requests":%d,"durationUs":%d,"sent":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"cpuSeconds":%.2f,"meanUs":%.1f,"percentilesUs":[%s]}\n',
    summary.requests, summary.duration, sent, e.connect, e.read, e.write, e.status, e.timeout, cpu_seconds(), latency.mean,
    table.concat(points, ",")))
end

return report
