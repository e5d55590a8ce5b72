-- Allocation contention: reservation k asks one unit of a pool for holder <prefix>-k.
-- Args: count, threads, pool, holder prefix, service token, marker folder (see storm.lua).
local requests = {}
local sent, received = 0, 0
local threads = {}

-- wrk calls request() once on thread 0's state before the run, to check the request it
-- makes (script_verify_request); that call must not use up the thread's first entry.
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count, nthreads = tonumber(args[1]), tonumber(args[2])
  local pool, prefix, token = args[3], args[4], args[5]
  marker = args[6] .. "/done-" .. id
  if id == 0 then sent = -1 end
  for k = id, count - 1, nthreads do
    local body = string.format('{"pool":"%s","holders":["%s-%d"]}', pool, prefix, k)
    local headers = {
      ["Content-Type"] = "application/json",
      ["X-Service-Token"] = token,
      ["Idempotency-Key"] = prefix .. "-" .. k,
    }
    table.insert(requests, wrk.format("POST", "/internal/v1/reservations", headers, body))
  end
  granted, refused, other = 0, 0, 0
  idle = wrk.format("GET", "/healthz")
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
  if sent <= #requests then return requests[math.max(1, sent)] end
  -- Past the end a connection asks for /healthz every few seconds (see delay; 200 is
  -- never an answer to a reservation, so not counted) until every reservation has its
  -- answer; one lost to a socket error never answers: stop waiting after a while.
  ended_at = ended_at or os.time()
  if os.time() - ended_at > 12 then finish() end
  return idle
end

function delay()
  if sent < #requests then return 0 end
  return 1000  -- well inside uvicorn's 5 s keep-alive: the connection stays open
end

function response(status, headers, body)
  if status == 200 then return end
  received = received + 1
  if received > #requests then return end
  if received == #requests then finish() end
  if status == 201 then granted = granted + 1
  elseif status == 409 then refused = refused + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("granted")
    b = b + thread:get("refused")
    c = c + thread:get("other")
  end
  io.write(string.format("RESERVATIONS 201=%d 409=%d other=%d\n", a, b, c))
end
