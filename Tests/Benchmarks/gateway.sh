#!/usr/bin/env bash
# Authenticated read through the whole stack: GET /api/v1/orgs/<id> with a session cookie
# (cookie → session check → in-process EU region → SQLite read → JSON), side by side with nginx's static
# response (Tests/Benchmarks/compare-nginx.sh), server pinned to CPU 1, release build.
#   Tests/Benchmarks/gateway.sh       (env passed to compare-nginx.sh: DURATION RUNS WARMUP CONNS)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c release --product gatehouse >/dev/null
bin="$(swift build -c release --show-bin-path)/gatehouse"
work=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo "{\"publicBaseURL\": \"$base\"}" > "$work/config.json"
taskset -c 1 "$bin" serve --config "$work/config.json" --port "$port" --data-dir "$work/data" >"$work/stdout.log" 2>"$work/access.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q listening "$work/stdout.log" 2>/dev/null && break; sleep 0.05; done

# A region admin, an org in EU whose owner is that same person, and their session cookie.
token=$("$bin" admin bootstrap --config "$work/config.json" --data-dir "$work/data" --region eu --email ops@bench.test | sed -n 's|.*/bootstrap/\([^ ]*\)$|\1|p' | head -1)
jar="$work/cookies"
csrf=$(curl -fsS -c "$jar" -H 'Content-Type: application/json' -d "{\"token\":\"$token\",\"password\":\"bench-password-1\"}" "$base/api/v1/auth/bootstrap" | python3 -c 'import json,sys;print(json.load(sys.stdin)["csrfToken"])')
prov=$(curl -fsS -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" -d '{"name":"Bench Org","ownerEmail":"ops@bench.test"}' "$base/api/v1/regions/eu/orgs")
org=$(echo "$prov" | python3 -c 'import json,sys;print(json.load(sys.stdin)["org"]["id"])')
link=$(echo "$prov" | python3 -c 'import json,sys;print(json.load(sys.stdin)["ownerInviteURL"])')
curl -fsS -b "$jar" -H "X-CSRF-Token: $csrf" -X POST "$base/api/v1/invites/${link##*/}/accept" >/dev/null
cookie=$(awk '$6=="gh_session"{print $7}' "$jar")
echo "GET $base/api/v1/orgs/$org → $(curl -fsS -b "$jar" "$base/api/v1/orgs/$org")"
"$root/Tests/Benchmarks/compare-nginx.sh" "$base/api/v1/orgs/$org" "Cookie: gh_session=$cookie"
echo "server RSS after the runs: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$pid/status)"
