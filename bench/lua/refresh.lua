-- wrk: POST /auth/refresh with a distinct pre-minted refresh token per request (each is
-- single use; a reused one would revoke its family and show as a non-2xx response).
-- Counts responses by status and prints `status <code> <count>` lines at the end, so an
-- error is told apart from a timeout (wrk gives up on a response after 2 s).
-- Usage: wrk ... -s refresh.lua URL -- <token file>
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local tokens, idx = {}, 1
statuses = {}
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  f:close()
end
function request()
  local t = tokens[idx] or tokens[#tokens]
  idx = idx + 1
  return wrk.format("POST", "/auth/refresh", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "refresh_token=" .. t)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  for code, count in pairs(total) do
    io.write(string.format("status %d %d\n", code, count))
  end
end
