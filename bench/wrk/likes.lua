-- PUT one like per request, in a deterministic sequence the bench recomputes: request k of the
-- sequence (k = offset, offset + 1, ...) likes post posts[k mod #posts] as user <user prefix>k,
-- a new user each time, so every acknowledged like adds exactly one to its post's count.
-- Args: <posts file, one post id per line> <offset> <user prefix> [authorization header value].
-- wrk runs this with one thread (-t1): `sent` is then the length of the sequence it used.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local posts = {}
local headers = {}
local offset = 0
local prefix = "w"
sent = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then posts[#posts + 1] = line end
  end
  offset = tonumber(args[2])
  prefix = args[3]
  if args[4] ~= nil and #args[4] > 0 then headers["Authorization"] = args[4] end
end

function request()
  local k = offset + sent
  sent = sent + 1
  return wrk.format("PUT", "/v1/posts/" .. posts[k % #posts + 1] .. "/likes/" .. prefix .. k, headers)
end
