-- wrk script for bench/serverinfo-load.sh: POST /graphql with the exact document specklepy's
-- server.get() sends; with BENCH_TOKEN set, as that token's user (Authorization: Bearer …);
-- with BENCH_ACCEPT_ENCODING set (e.g. "gzip, deflate", what python-requests sends), asking for a
-- compressed answer.
-- done() prints one machine-readable "BENCH …" line that the shell script reads.

wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local enc = os.getenv("BENCH_ACCEPT_ENCODING")
if enc and enc ~= "" then
  wrk.headers["Accept-Encoding"] = enc
end
-- a long bracket keeps the JSON's \n escapes as they are
wrk.body = [[{"query":"query Server {\n  serverInfo {\n    name\n    company\n    description\n    adminContact\n    canonicalUrl\n    version\n    scopes {\n      name\n      description\n    }\n    authStrategies {\n      id\n      name\n      icon\n    }\n    workspaces {\n      workspacesEnabled\n    }\n  }\n}"}]]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
