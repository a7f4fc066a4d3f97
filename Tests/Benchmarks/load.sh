#!/usr/bin/env bash
# Health under load (release build, server on CPU 1, wrk on CPU 0, data from BenchSeed):
#   1. 60 s at 64 connections on the members list: errors, non-2xx, and the server's RSS at start and end;
#   2. 2,000 connections (below `maxConnections`, 10,000 by default) on the same route for 20 s: no socket
#      errors, no 503.
#   Tests/Benchmarks/load.sh        env: LONG=60s WIDE=2000
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
long="${LONG:-60s}" wide="${WIDE:-2000}"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
swift build -c release --product gatehouse >/dev/null
swift build -c release --product BenchSeed >/dev/null
bindir="$(swift build -c release --show-bin-path)"
work=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
seed=$("$bindir/BenchSeed" "$work/data")
field() { python3 -c "import json,sys;print(json.loads(sys.argv[1])[sys.argv[2]])" "$seed" "$1"; }
org=$(field org) session=$(field session)
echo "{\"publicBaseURL\": \"$base\", \"log\": {\"level\": \"warning\"}}" > "$work/config.json"
taskset -c 1 "$bindir/gatehouse" serve --config "$work/config.json" --port "$port" --data-dir "$work/data" \
  >"$work/stdout.log" 2>"$work/stderr.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.1f MB", $2/1024}' "/proc/$pid/status"; }
url="$base/api/v1/orgs/$org/members?limit=50"
hdr="Cookie: gh_session=$session"
taskset -c 0 wrk -t2 -c64 -d5s -H "$hdr" "$url" >/dev/null
echo "RSS after warm-up: $(rss)"
echo "== $long at 64 connections: $url"
taskset -c 0 wrk -t2 -c64 -d"$long" --latency -H "$hdr" "$url" | grep -E "Requests/sec|Latency|99%|Socket errors|Non-2xx|requests in"
echo "RSS at end: $(rss)"
echo "== 20 s at $wide connections"
taskset -c 0 wrk -t2 -c"$wide" -d20s --timeout 10s --latency -H "$hdr" "$url" | grep -E "Requests/sec|Latency|99%|Socket errors|Non-2xx|requests in"
echo "RSS at end: $(rss)"
echo "503 answers in the access log: $(grep -c '" 503 ' "$work/stderr.log" || true)"
kill -0 $pid && echo "server still running"
