#!/usr/bin/env bash
# Throughput of a URL side by side with nginx's static `return 200` in the same run, as a ratio: the way every
# HTTP figure in README is measured. nginx and the server under test each get CPU 1 (start yours with
# `taskset -c 1`); wrk runs on CPU 0 with 2 threads.
#
#   Tests/Benchmarks/compare-nginx.sh URL [HEADER...]     (HEADER e.g. "Cookie: gh_session=…"; several allowed)
#   env: CONNS=64 DURATION=10s WARMUP=3s RUNS=3
#
# Prints a line per run (req/s, p99, errors), nginx and the URL in turn, and last:
#   ratio: R  (median of RUNS paired runs; yours N req/s, nginx M req/s, medians)
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

# wrk's -H arguments for the target's headers, built once.
flags=()
for h in "${headers[@]}"; do [ -n "$h" ] && flags+=(-H "$h"); done

# one NAME RUN URL [WRK ARGS...]: one run; prints its line and sets $rps.
one() {
  local name="$1" i="$2" url="$3" report p99 errors
  shift 3
  report=$(taskset -c 0 wrk -t2 -c"$conns" -d"$duration" --latency "$@" "$url" 2>&1)
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$report")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$report")
  errors=$(grep -E 'Socket errors|Non-2xx' <<<"$report" | tr -s ' ' | paste -sd';' - || true)
  echo "$name run $i: $rps req/s, p99 $p99${errors:+, $errors}"
}

# Warm-ups, then the runs in pairs, nginx and then yours, back to back: on a shared machine whose speed drifts by
# ±25 % within minutes, each pair sees the same machine, and the ratio is the median of the pairs' ratios (all nginx
# runs first and all of yours after would compare different machines whenever the drift falls between them).
taskset -c 0 wrk -t2 -c"$conns" -d"$warmup" "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 || true
taskset -c 0 wrk -t2 -c"$conns" -d"$warmup" "${flags[@]}" "$target" >/dev/null 2>&1 || true
nginx_runs=() your_runs=()
for i in $(seq 1 "$runs"); do
  one nginx "$i" "http://127.0.0.1:$port/healthz"
  nginx_runs+=("$rps")
  one yours "$i" "$target" "${flags[@]}"
  your_runs+=("$rps")
done
python3 - "$runs" "${nginx_runs[*]}" "${your_runs[*]}" <<'PY'
import statistics, sys
runs, nginx, yours = sys.argv[1], [float(v) for v in sys.argv[2].split()], [float(v) for v in sys.argv[3].split()]
pairs = statistics.median_low(sorted(y / n for y, n in zip(yours, nginx)))
print(f"ratio: {pairs:.2f}  (median of {runs} paired runs; yours {statistics.median_low(yours):.0f} req/s, "
      f"nginx {statistics.median_low(nginx):.0f} req/s, medians)")
PY
