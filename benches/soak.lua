-- Mixed load for benches/soak.sh: API reads as an inspector and dashboard pages as a supervisor's session.
-- TOKEN, COOKIE, DISTRICT and ENTITY come from the environment.
local token = os.getenv("TOKEN")
local cookie = os.getenv("COOKIE")
local district = os.getenv("DISTRICT")
local entity = os.getenv("ENTITY")
local api = { Authorization = "Bearer " .. token }
local page = { Cookie = cookie }
local requests = {
  { "/v1/watchlist?limit=50&region=" .. district, api },
  { "/v1/watchlist?limit=20&band=red,orange&region=" .. district, api },
  { "/v1/employers/" .. entity, api },
  { "/v1/runs", api },
  { "/watchlist", page },
  { "/watchlist?sort=score&page=2", page },
  { "/entity/employer/" .. entity, page },
  { "/overview", page },
  { "/healthz", {} },
}
local i = 0
request = function()
  i = i + 1
  local r = requests[(i % #requests) + 1]
  return wrk.format("GET", r[1], r[2])
end
