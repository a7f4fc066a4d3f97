#!/usr/bin/env bash
# The route matrix: every kind of request a browser or API client makes, each row measured side by side with
# nginx's static `return 200` in the same run (nginx, then the route, RUNS times each; medians), release build,
# the server and nginx on CPU 1, wrk on CPU 0. Data (Tests/Benchmarks/BenchSeed): an EU org with 10,000
# members and 2,000 pending invites; its owner is in 5 orgs across 3 regions.
#   Tests/Benchmarks/matrix.sh [ROW-FILTER]     env: CONNS=64 DURATION=5s WARMUP=2s RUNS=3 ANSWER_CACHE=true
# ANSWER_CACHE=false measures every read the long way (`store.answerCache`: no remembered answers).
# POSTGRES_URL=postgres://… runs the same matrix with every store in PostgreSQL (fresh schemas in that database;
# Tests/Postgres/cluster.sh start DIR PORT makes a throwaway one).
# Prints a Markdown table (route, req/s, ratio to nginx, p99, errors) and the server's RSS.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
filter="${1:-}"
conns="${CONNS:-64}" duration="${DURATION:-5s}" warmup="${WARMUP:-2s}" runs="${RUNS:-3}"
answer_cache="${ANSWER_CACHE:-true}"
for tool in nginx wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "matrix.sh: $tool is missing (Debian: nginx wrk util-linux curl)" >&2; exit 1; }
done
swift build -c release --product gatehouse >/dev/null
swift build -c release --product BenchSeed >/dev/null
bindir="$(swift build -c release --show-bin-path)"
work=$(mktemp -d)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port) nport=$(free_port)
base="http://127.0.0.1:$port"

store="\"answerCache\": $answer_cache"
if [ -n "${POSTGRES_URL:-}" ]; then
  u="$POSTGRES_URL"
  store="$store, \"backend\": \"postgres\", \"schemaPrefix\": \"bench$RANDOM$RANDOM\", \"databases\": {\"gateway\": \"$u\","
  store="$store \"us\": \"$u\", \"eu\": \"$u\", \"apac\": \"$u\"}"
fi
echo "{\"publicBaseURL\": \"$base\", \"log\": {\"level\": \"warning\"}, \"store\": {$store}}" > "$work/config.json"
seed=$("$bindir/BenchSeed" "$work/data" "$work/config.json")
field() { python3 -c "import json,sys;print(json.loads(sys.argv[1])[sys.argv[2]])" "$seed" "$1"; }
org=$(field org) member=$(field member) session=$(field session) apikey=$(field apiKey)
taskset -c 1 "$bindir/gatehouse" serve --config "$work/config.json" --port "$port" --data-dir "$work/data" \
  >"$work/stdout.log" 2>"$work/stderr.log" &
pid=$!
mkdir -p "$work/nginx/tmp"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; server_tokens off; keepalive_timeout 65; keepalive_requests 1000000;
  client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp;
  server { listen 127.0.0.1:$nport backlog=4096; location = /healthz { default_type text/plain; return 200 "ok"; } }
}
CONF
taskset -c 1 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
npid=$!
trap 'kill $pid $npid 2>/dev/null; wait $pid $npid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$nport/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{printf "%.1f MB", $2/1024}' "/proc/$pid/status"; }
echo "server RSS at start: $(rss)"

cookie="Cookie: gh_session=$session"
csrf=$(curl -fsS -H "$cookie" "$base/api/v1/me" | python3 -c 'import json,sys;print(json.load(sys.stdin)["csrfToken"])')
bearer="Authorization: Bearer $apikey"

# A wrk Lua script for a request with a method, headers and a body ({n} becomes a per-request number).
lua() {  # lua FILE METHOD BODY HEADER...
  local file="$1" method="$2" body="$3"; shift 3
  {
    echo 'local n = 0'
    echo 'local headers = {}'
    for h in "$@"; do echo "headers[\"${h%%:*}\"] = \"${h#*: }\""; done
    echo 'headers["Content-Type"] = "application/json"'
    echo 'function setup(thread) thread:set("id", math.random(1, 1000000)) end'
    echo 'function init(args) math.randomseed(os.time() + (id or 0)) end'
    echo "function request() n = n + 1; local b = string.gsub('$body', '{n}', tostring(math.random(1, 1000000000)) .. '-' .. n)"
    echo "  return wrk.format(\"$method\", nil, headers, b) end"
  } > "$file"
}

median_of() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
run_wrk() {  # run_wrk URL [-s script | -H header]...
  local url="$1"; shift
  taskset -c 0 wrk -t2 -c"$conns" -d"$duration" --latency "$@" "$url" 2>&1
}
echo
echo "| route | req/s | ratio to nginx | p99 | non-2xx/errors |"
echo "| --- | --- | --- | --- | --- |"
row() {  # row NAME URL [wrk args...]
  local name="$1" url="$2"; shift 2
  if [ -n "$filter" ]; then  # substrings of row names, `|` between alternatives
    local hit=0 f
    IFS='|' read -ra fs <<<"$filter"
    for f in "${fs[@]}"; do [[ "$name" == *"$f"* ]] && hit=1; done
    [ "$hit" = 1 ] || return 0
  fi
  local -a ours=() theirs=() p99s=()
  local errs="" i report
  taskset -c 0 wrk -t2 -c"$conns" -d"$warmup" "$@" "$url" >/dev/null 2>&1 || true
  for i in $(seq 1 "$runs"); do
    report=$(run_wrk "http://127.0.0.1:$nport/healthz")
    theirs+=("$(awk '/^Requests\/sec/ {print $2}' <<<"$report")")
    report=$(run_wrk "$url" "$@")
    ours+=("$(awk '/^Requests\/sec/ {print $2}' <<<"$report")")
    p99s+=("$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$report")")
    errs+="$(grep -E 'Socket errors|Non-2xx' <<<"$report" | tr -s ' ' | paste -sd';' - || true)"
  done
  local o t
  o=$(median_of "${ours[@]}") t=$(median_of "${theirs[@]}")
  python3 -c "o, t, p = float('$o'), float('$t'), float('$(median_of "${p99s[@]}")'); print(f'| $name | {o:,.0f} | {o / t:.2f} (nginx {t:,.0f}) | {p:.1f} ms | ${errs:-0} |')"
}

lua "$work/invite.lua" POST '{"emails":"load{n}@bench-load.test","roles":["member"]}' "$cookie" "X-CSRF-Token: $csrf"
lua "$work/patch.lua" PATCH '{"userVariables":{"seq":"{n}"}}' "$cookie" "X-CSRF-Token: $csrf"
row "GET /healthz" "$base/healthz"
row "GET /api/v1/orgs/:org (session)" "$base/api/v1/orgs/$org" -H "$cookie"
row "GET /api/v1/me (5 orgs, 3 regions)" "$base/api/v1/me" -H "$cookie"
row "GET /members?limit=50 (10,000 members)" "$base/api/v1/orgs/$org/members?limit=50" -H "$cookie"
row "GET /invites?limit=50 (2,000 pending)" "$base/api/v1/orgs/$org/invites?limit=50" -H "$cookie"
row "GET /members/:id" "$base/api/v1/orgs/$org/members/$member" -H "$cookie"
row "GET /audit?limit=50" "$base/api/v1/orgs/$org/audit?limit=50" -H "$cookie"
row "GET /console/:org/members (HTML, 50 rows)" "$base/console/$org/members" -H "$cookie"
row "GET /login (sign-in page)" "$base/login"
row "POST /invites (one address)" "$base/api/v1/orgs/$org/invites" -s "$work/invite.lua"
row "PATCH /members/:id" "$base/api/v1/orgs/$org/members/$member" -s "$work/patch.lua"
row "GET /api/v1/orgs/:org (API key)" "$base/api/v1/orgs/$org" -H "$bearer"
row "GET /members?limit=50 (API key)" "$base/api/v1/orgs/$org/members?limit=50" -H "$bearer"
row "GET /invites?limit=50 (API key)" "$base/api/v1/orgs/$org/invites?limit=50" -H "$bearer"
echo
echo "server RSS at end: $(rss)"
