-- Load for `bun run bench` when wrk is on the PATH. Bodies come one per line from BENCH_BODIES
-- (one line: sent as a fixed body; several: one picked at random per request); the summary is
-- printed as one JSON line after "BENCH_JSON ".
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  if #line > 0 then bodies[#bodies + 1] = line end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

if #bodies == 1 then
  wrk.body = bodies[1]
else
  math.randomseed(os.time())
  request = function()
    return wrk.format(nil, nil, nil, bodies[math.random(#bodies)])
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
