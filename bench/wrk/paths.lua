-- GET each path of a file in turn (one path per line), e.g. the bench's GET /v1/counts of 50
-- posts drawn with the workload's popularity. Args: <paths file> [authorization header value].
-- Every request is counted in `sent` (see report.lua).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local paths = {}
local headers = {}
local next_path = 1
sent = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if args[2] ~= nil and #args[2] > 0 then headers["Authorization"] = args[2] end
end

function request()
  local path = paths[next_path]
  next_path = next_path % #paths + 1
  sent = sent + 1
  return wrk.format("GET", path, headers)
end
