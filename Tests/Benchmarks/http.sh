#!/usr/bin/env bash
# GET /healthz throughput against nginx's static `return 200`, both pinned to one core (CPU 1), wrk on CPU 0,
# 64 connections — plain HTTP and then TLS. Prints each run, the ratios, and the server's RSS after the runs.
#   Tests/Benchmarks/http.sh            (env: DURATION=10s RUNS=3 WARMUP=3s CONNS=64, passed to compare-nginx.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
compare="$root/Tests/Benchmarks/compare-nginx.sh"
cd "$root"
swift build -c release --product gatehouse >/dev/null
bin="$(swift build -c release --show-bin-path)/gatehouse"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

start() { # CONFIG_JSON -> sets $pid $port
  port=$(freeport)
  echo "$1" > "$work/config-$port.json"
  taskset -c 1 "$bin" serve --config "$work/config-$port.json" --port "$port" --data-dir "$work/data-$port" \
    >"$work/stdout-$port.log" 2>"$work/access-$port.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do grep -q listening "$work/stdout-$port.log" 2>/dev/null && break; sleep 0.05; done
}
rss() { awk '/VmRSS/{printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

echo "== plain HTTP: GET /healthz (access log on, written to a file)"
start '{}'
"$compare" "http://127.0.0.1:$port/healthz"
echo "server RSS after the runs: $(rss "$pid")"

echo "== TLS 1.3: GET /healthz (keep-alive; handshakes once per connection)"
bash certs/make-dev-certs.sh "$work/certs" >/dev/null
start "{\"tls\":{\"certificateFile\":\"$work/certs/server.crt\",\"privateKeyFile\":\"$work/certs/server.key\"}}"
"$compare" "https://127.0.0.1:$port/healthz"
echo "server RSS after the runs: $(rss "$pid")"
