-- wrk script for `quill serve`: each request asks for 200 characters with its own seed.
-- Run by scripts/load.sh; wrk's latency is the total latency of a completion (no streaming).
-- Characters are counted from each response's usage.completion_tokens, summed over wrk's threads.
local threads = {}
local counter = 0

setup = function(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

init = function(args)
  characters = 0
  non200 = 0
end

request = function()
  counter = counter + 1
  local body = string.format('{"prompt": "", "max_tokens": 200, "temperature": 0.8, "seed": %d}', id * 100000000 + counter)
  return wrk.format("POST", "/v1/completions", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local n = string.match(body, '"completion_tokens"%s*:%s*(%d+)')
  if n then characters = characters + tonumber(n) end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local total, refused = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("characters")
    refused = refused + thread:get("non200")
  end
  io.write(string.format("requests/s %.1f\n", summary.requests / seconds))
  io.write(string.format("characters/s %.0f (%.1f per request)\n", total / seconds, total / math.max(summary.requests, 1)))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("errors: %d connect, %d read, %d write, %d timeout, %d status (%d not 200)\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status, refused))
end
