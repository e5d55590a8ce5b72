-- One simulated phone fetch per request: path, credentials, User-Agent, the phone's
-- address (X-Forwarded-For, trusted by the gateway from 127.0.0.1) and an optional ETag.
-- Thread k of n takes lines k, k+n, k+2n, ... so the whole list is fetched exactly once.
-- wrk's main thread sleeps for the whole -d duration whatever its threads do, so a thread
-- that has its answers writes a marker file (args[3]) and the runner sends wrk SIGINT.
local requests = {}
local sent = 0
local received = 0
local ended_at = nil
local threads = {}

-- wrk calls request() once on thread 0's state before the run, to check the request it
-- makes (script_verify_request); that call must not use up the thread's first entry.
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  marker = args[3] .. "/done-" .. id
  if id == 0 then sent = -1 end
  token = os.getenv("STORM_SERVICE_TOKEN")
  local index = 0
  for line in io.lines(file) do
    if index % nthreads == id then
      local path, auth, ua, xff, etag =
        line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      local headers = { ["Authorization"] = auth, ["User-Agent"] = ua, ["X-Forwarded-For"] = xff }
      -- Straight to APS (no gateway): the service token the gateway would add.
      if token then headers["X-Service-Token"] = token end
      if etag ~= "" then headers["If-None-Match"] = etag end
      table.insert(requests, wrk.format("GET", path, headers))
    end
    index = index + 1
  end
  ok200, ok304, other = 0, 0, 0
end

function finish()
  if marker then
    io.open(marker, "w"):close()
    marker = nil
  end
  wrk.thread:stop()
end

function request()
  sent = sent + 1
  -- Past the end of the list a connection repeats the last fetch until this thread has
  -- its answers in; those few extra answers are not counted below. A fetch lost to a
  -- socket error never answers: give up waiting for it after a few seconds.
  if sent > #requests then
    ended_at = ended_at or os.time()
    if os.time() - ended_at > 3 then finish() end
  end
  return requests[math.max(1, math.min(sent, #requests))]
end

function response(status, headers, body)
  received = received + 1
  if received > #requests then return end
  if received == #requests then finish() end
  if status == 200 then ok200 = ok200 + 1
  elseif status == 304 then ok304 = ok304 + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("ok200")
    b = b + thread:get("ok304")
    c = c + thread:get("other")
  end
  io.write(string.format("STATUS 200=%d 304=%d other=%d\n", a, b, c))
end
