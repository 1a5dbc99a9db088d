-- wrk script: posts pre-signed Kaltura notifications (made by gen_webhooks.py) to
-- kaltura-webhooks serve. Each wrk thread takes every THREADS-th line of the file, so no two
-- threads send the same eventNotificationJobId; a thread that runs out starts over (those
-- requests are then duplicates, still answered 200, and counted by done() below).
-- Env: WEBHOOKS_FILE (the generated file), WEBHOOKS_PATH (/webhooks/kaltura/{partner}).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local file = os.getenv("WEBHOOKS_FILE")
  local path = os.getenv("WEBHOOKS_PATH")
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  requests = {}
  local i = 0
  for line in io.lines(file) do
    if i % n == id then
      local tab = string.find(line, "\t", 1, true)
      local sig = string.sub(line, 1, tab - 1)
      local body = string.sub(line, tab + 1)
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-KALTURA-SIGNATURE"] = sig,
        ["X-KALTURA-HASH-ALGO"] = "sha256",
      }, body)
    end
    i = i + 1
  end
  next_index = 1
  wrapped = 0
  non200 = 0
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
    wrapped = wrapped + 1
  end
  return r
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests_)
  local wraps, bad = 0, 0
  for _, t in ipairs(threads) do
    wraps = wraps + (t:get("wrapped") or 0)
    bad = bad + (t:get("non200") or 0)
  end
  io.write(string.format("non-200 answers: %d\n", bad))
  io.write(string.format("times a thread ran out of distinct requests: %d\n", wraps))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
