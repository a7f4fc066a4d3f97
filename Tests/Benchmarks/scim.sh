#!/usr/bin/env bash
# SCIM: `GET /scim/v2/orgs/<org>/Users?filter=userName eq "…"` over an org of 100,000 members (BenchSeed with
# BENCH_MEMBERS), release build, through the gateway (the token checked by the region, then the indexed lookup).
# Every request asks for a different person (a wrk Lua script walks the members), so no remembered answer helps.
# One connection (the latency of one request) and then 16 (throughput); p50/p99 from wrk's latency distribution.
#   Tests/Benchmarks/scim.sh        env: MEMBERS=100000 DURATION=10s
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
members="${MEMBERS:-100000}" duration="${DURATION:-10s}"
for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "scim.sh: $tool is missing (Debian: wrk util-linux curl)" >&2; exit 1; }
done
swift build -c release --product gatehouse >/dev/null
swift build -c release --product BenchSeed >/dev/null
bindir="$(swift build -c release --show-bin-path)"
work=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo "{\"publicBaseURL\": \"$base\", \"mail\": {\"transport\": \"off\"}}" > "$work/config.json"
started=$(date +%s)
seed=$(BENCH_MEMBERS="$members" "$bindir/BenchSeed" "$work/data" "$work/config.json")
echo "seeded $members members in $(( $(date +%s) - started )) s"
org=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["org"])' "$seed")
token=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["scimToken"])' "$seed")
taskset -c 1 "$bindir/gatehouse" serve --config "$work/config.json" --port "$port" --data-dir "$work/data" \
  >"$work/stdout.log" 2>"$work/access.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do grep -q listening "$work/stdout.log" 2>/dev/null && break; sleep 0.05; done
check=$(curl -fsS -H "Authorization: Bearer $token" -G "$base/scim/v2/orgs/$org/Users" \
  --data-urlencode "filter=userName eq \"person$((members - 1))@bench.test\"")
python3 -c 'import json,sys;d=json.loads(sys.argv[1]);assert d["totalResults"]==1,d;print("found:",d["Resources"][0]["userName"])' "$check"
cat > "$work/walk.lua" <<LUA
local i = 0
request = function()
  i = (i * 7919 + 13) % $members
  local path = "/scim/v2/orgs/$org/Users?filter=userName%20eq%20%22person" .. i .. "%40bench.test%22"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer $token" })
end
LUA
for conns in 1 16; do
  echo "== $conns connection(s), $duration =="
  taskset -c 0 wrk -t1 -c"$conns" -d"$duration" --latency -s "$work/walk.lua" "$base" \
    | grep -E "Requests/sec| 50%| 90%| 99%|Non-2xx"
done
echo "server RSS: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$pid/status)"
