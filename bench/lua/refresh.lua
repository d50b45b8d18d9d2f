-- wrk: POST /auth/refresh with a distinct pre-minted refresh token per request (each is
-- single use; a reused one would revoke its family and show as a non-2xx response).
-- Usage: wrk ... -s refresh.lua URL -- <token file>
local tokens, idx = {}, 1
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
