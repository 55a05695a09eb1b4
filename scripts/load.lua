-- wrk script for `quill serve`: each request asks for 200 characters with its own seed.
-- Run by scripts/load.sh; wrk's latency is the total latency of a completion (no streaming).
local counter = 0
local non200 = 0

request = function()
  counter = counter + 1
  local body = string.format('{"prompt": "", "max_tokens": 200, "temperature": 0.8, "seed": %d}', counter)
  return wrk.format("POST", "/v1/completions", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("requests/s %.1f\n", summary.requests / seconds))
  io.write(string.format("characters/s (at most 200 per request) %.0f\n", summary.requests * 200 / seconds))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("errors: %d connect, %d read, %d write, %d timeout, %d status\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
end
