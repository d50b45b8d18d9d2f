-- wrk: POST /auth/token password grant, cycling through the seeded users bench-1..N and
-- a distinct X-Forwarded-For per request (authd trusts 127.0.0.1 as a proxy in the
-- benchmark config), so login throttling stays on but never trips: every attempt is right.
-- Counts responses by status and prints `status <code> <count>` lines at the end.
-- Usage: wrk ... -s login.lua URL -- <users> <password>
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local users, password = 100, "bench-password-0123"
local n = 0
statuses = {}
function init(args)
  users = tonumber(args[1] or "100")
  password = args[2] or password
  math.randomseed(os.time())
  n = math.random(0, users - 1)
end

function request()
  n = n + 1
  local user = "bench-" .. ((n % users) + 1)
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", "/auth/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = ip,
  }, "grant_type=password&username=" .. user .. "&password=" .. password)
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
