#!/usr/bin/env bash
# Throughput of a URL side by side with nginx's static `return 200` in the same run, as a ratio: the way every
# HTTP figure in README is measured. nginx and the server under test each get CPU 1 (start yours with
# `taskset -c 1`); wrk runs on CPU 0 with 2 threads.
#
#   Tests/Benchmarks/compare-nginx.sh URL [HEADER...]     (HEADER e.g. "Cookie: gh_session=…"; several allowed)
#   env: CONNS=64 DURATION=10s WARMUP=3s RUNS=3
#
# Prints a line per run (req/s, p99, errors) for nginx and then the URL, and last:
#   ratio: R  (yours N req/s, nginx M req/s, medians of RUNS)
set -euo pipefail
target="${1:?usage: compare-nginx.sh URL [HEADER...]}"
shift
headers=("$@")
conns="${CONNS:-64}" duration="${DURATION:-10s}" warmup="${WARMUP:-3s}" runs="${RUNS:-3}"

for tool in nginx wrk taskset curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "compare-nginx.sh: $tool is missing; installing Debian's nginx and wrk" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk curl >/dev/null
    break
  fi
done

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/tmp"
cat > "$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location = /healthz { default_type text/plain; return 200 "ok"; }
  }
}
CONF
taskset -c 1 nginx -c "$dir/nginx.conf" -p "$dir" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# measure NAME URL [HEADER...]: a warm-up, then RUNS runs; sets $median (req/s).
measure() {
  local name="$1" url="$2" i report rps p99 errors h
  shift 2
  local -a extra=() results=()
  for h in "$@"; do [ -n "$h" ] && extra+=(-H "$h"); done
  taskset -c 0 wrk -t2 -c"$conns" -d"$warmup" "${extra[@]}" "$url" >/dev/null 2>&1 || true
  for i in $(seq 1 "$runs"); do
    report=$(taskset -c 0 wrk -t2 -c"$conns" -d"$duration" --latency "${extra[@]}" "$url" 2>&1)
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$report")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
    errors=$(grep -E 'Socket errors|Non-2xx' <<<"$report" | tr -s ' ' | paste -sd';' - || true)
    echo "$name run $i: $rps req/s, p99 $p99${errors:+, $errors}"
    results+=("$rps")
  done
  median=$(printf '%s\n' "${results[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
}

measure nginx "http://127.0.0.1:$port/healthz"
nginx_median=$median
measure yours "$target" "${headers[@]}"
python3 -c "y, n = float('$median'), float('$nginx_median'); print(f'ratio: {y / n:.2f}  (yours {y:.0f} req/s, nginx {n:.0f} req/s, medians of $runs)')"
