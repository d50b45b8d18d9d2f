-- wrk: GET with a fixed bearer token (BENCH_AUTH) over a list of paths read from a file,
-- one per line, taken in turn. Counts responses by status and prints `status <code>
-- <count>` lines at the end.
-- Usage: BENCH_AUTH="Bearer ..." wrk ... -s paths.lua URL -- <paths file>
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local paths, idx = {}, 0
statuses = {}
local auth = os.getenv("BENCH_AUTH")
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then paths[#paths + 1] = line end
  end
  f:close()
end
function request()
  idx = idx % #paths + 1
  return wrk.format("GET", paths[idx], { ["Authorization"] = auth })
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
