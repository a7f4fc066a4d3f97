#!/usr/bin/env bash
# Apps behind the gateway: a proxied GET /apps/portal/ (session → region decision → ES256 assertion → kept-alive
# upstream connection) to nginx's static answer, and GET /auth/verify (the same decision and assertion, no
# forwarding), each side by side with nginx's static response (Tests/Benchmarks/compare-nginx.sh), release build,
# the gateway on CPU 1, wrk and the upstream nginx on CPU 0 (UPSTREAM_CPU=1: the upstream on the gateway's core).
# Last, nginx itself as a plain reverse proxy to the same upstream on CPU 1, for reference (what proxying costs here
# with no identity work at all).
#   Tests/Benchmarks/apps.sh       (env: UPSTREAM_CPU=0; passed to compare-nginx.sh: DURATION RUNS WARMUP CONNS)
# INSTRUCTIONS=1: instead, the gateway runs under valgrind's callgrind and the script prints the user-space
# instructions per request of each route (4 connections, 10 s each): a figure that moves far less than the ratios with
# the machine's noise, for telling whether a change made the path cheaper (apt: valgrind). It includes the region asks
# and signings made about once a second per connection (a decision lives 1 s), spread over valgrind's slow requests:
# ≈ 5–8k of the proxied figure, and more when the machine is slower.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
swift build -c release --product gatehouse >/dev/null
bin="$(swift build -c release --show-bin-path)/gatehouse"
work=$(mktemp -d)
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free)
up=$(free)
base="http://127.0.0.1:$port"
mkdir -p "$work/tmp"
# The upstream: nginx answering every path statically.
cat > "$work/upstream.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp;
  server { listen 127.0.0.1:$up backlog=4096; location / { default_type text/plain; return 200 "ok"; } }
}
CONF
# The upstream is not under test: by default it shares the load generator's core (CPU 0), so the gateway has CPU 1 to
# itself as nginx static does; UPSTREAM_CPU=1 puts it on the gateway's core instead (the earlier setup).
taskset -c "${UPSTREAM_CPU:-0}" nginx -c "$work/upstream.conf" -p "$work" &
upstream_pid=$!
cat > "$work/config.json" <<CONF
{"publicBaseURL": "$base", "passwords": {"scryptLogN": 10}, "mail": {"transport": "dev", "directory": "$work/mail",
 "pollSeconds": 0.1}, "apps": {"upstreams": ["127.0.0.1:$up"]}}
CONF
wrapper=()
if [ "${INSTRUCTIONS:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "INSTRUCTIONS=1 needs valgrind (apt-get install valgrind)" >&2; exit 1; }
  # valgrind cannot read the toolchain's debug info: symbols only.
  strip --strip-debug -o "$work/gatehouse" "$bin"
  bin="$work/gatehouse"
  wrapper=(valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --instr-atstart=no)
fi
taskset -c 1 "${wrapper[@]}" "$bin" serve --config "$work/config.json" --port "$port" --data-dir "$work/data" >"$work/stdout.log" 2>"$work/access.log" &
pid=$!
trap 'kill -TERM $pid $upstream_pid 2>/dev/null; wait $pid $upstream_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 1200); do grep -q listening "$work/stdout.log" 2>/dev/null && break; sleep 0.05; done

# An org (its owner is the region admin), a member who signs up from the mailed link, the Portal behind the gateway
# for her, and her session cookie.
token=$("$bin" admin bootstrap --config "$work/config.json" --data-dir "$work/data" --region eu --email ops@bench.test | sed -n 's|.*/bootstrap/\([^ ]*\)$|\1|p' | head -1)
read -r org cookie < <(python3 - "$base" "$token" "$up" "$work/mail" <<'PY'
import email, email.policy, glob, re, sys, time
import requests
base, token, up, maildir = sys.argv[1:]
def client():
    s = requests.Session(); s.csrf = None; return s
def api(s, m, path, body=None, expect=None):
    r = s.request(m, base + path, json=body, headers={"X-CSRF-Token": s.csrf} if s.csrf else {}, timeout=10)
    if r.headers.get("content-type", "").startswith("application/json") and r.content and isinstance(r.json(), dict) and r.json().get("csrfToken"):
        s.csrf = r.json()["csrfToken"]
    assert expect is None or r.status_code == expect, (m, path, r.status_code, r.text)
    return r
ops = client()
api(ops, "POST", "/api/v1/auth/bootstrap", {"token": token, "password": "bench-password-1"}, 200)
p = api(ops, "POST", "/api/v1/regions/eu/orgs", {"name": "Bench", "ownerEmail": "ops@bench.test"}, 201).json()
org = p["org"]["id"]
api(ops, "POST", f"/api/v1/invites/{p['ownerInviteURL'].split('/invite/')[1]}/accept", None, 200)
api(ops, "POST", f"/api/v1/orgs/{org}/invites", {"emails": ["mia@bench.test"], "roles": ["member"]}, 201)
link = None
for _ in range(200):
    for f in glob.glob(f"{maildir}/*.eml"):
        m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
        if "mia@bench.test" in m["To"]:
            link = re.search(r"/invite/(\S+)", m.get_body(("plain",)).get_content()).group(1)
    if link: break
    time.sleep(0.05)
mia = client()
api(mia, "POST", f"/api/v1/invites/{link}/accept", {"password": "mia-password-long"}, 200)
mia_id = api(mia, "GET", "/api/v1/me", None, 200).json()["account"]["id"]
app = [a for a in api(ops, "GET", f"/api/v1/orgs/{org}/apps", None, 200).json() if a.get("slug") == "portal"][0]["id"]
api(ops, "PATCH", f"/api/v1/orgs/{org}/apps/{app}", {"slug": "portal", "upstream": f"http://127.0.0.1:{up}",
    "rule": {"roles": ["member"], "appRoles": [], "conditions": []}}, 200)
api(ops, "POST", f"/api/v1/orgs/{org}/apps/{app}/grants", {"member": mia_id, "role": "editor"}, 204)
print(org, mia.cookies["gh_session"])
PY
)
jar="Cookie: gh_session=$cookie; gh_org=$org"
echo "GET $base/apps/portal/ → $(curl -fsS -H "$jar" "$base/apps/portal/")"
echo "GET $base/auth/verify → $(curl -fsS -o /dev/null -w '%{http_code}' -H "$jar" -H 'X-Original-URI: /apps/portal/' "$base/auth/verify")"
if [ "${INSTRUCTIONS:-0}" = 1 ]; then
  for path in /apps/portal/ /auth/verify; do
    for _ in 1 2 3; do curl -fsS -o /dev/null -H "$jar" -H "X-Original-URI: /apps/portal/" "$base$path"; done
    callgrind_control -z "$pid" >/dev/null 2>&1
    callgrind_control -i on "$pid" >/dev/null 2>&1
    out=$(taskset -c 0 wrk -t1 -c4 -d10s -H "$jar" -H "X-Original-URI: /apps/portal/" "$base$path")
    callgrind_control -d "$pid" >/dev/null 2>&1
    callgrind_control -i off "$pid" >/dev/null 2>&1
    sleep 1
    dump=$(ls -t "$work"/cg.out.* | head -1)
    ir=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
    reqs=$(echo "$out" | awk '/requests in/{print $1}')
    echo "$path: $(python3 -c "print(round($ir/$reqs))") instructions a request (user space, $reqs requests)"
  done
  exit 0
fi
# A process's CPU time per request (user and kernel apart, from /proc) under the same load, 8 s: steadier than a
# ratio on a noisy machine, where nginx static itself moves from run to run. Measured for the gateway and for nginx as
# a plain reverse proxy: the kernel's share (reads, sends, wake-ups) is alike for both; what differs is user space.
cpu_per_request() { # NAME PID URL
  local before after out reqs
  before=$(awk '{print $14, $15}' /proc/$2/stat)
  out=$(taskset -c 0 wrk -t2 -c64 -d8s -H "$jar" -H "X-Original-URI: /apps/portal/" "$3")
  after=$(awk '{print $14, $15}' /proc/$2/stat)
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  python3 - "$1" "$before" "$after" "$reqs" "$(getconf CLK_TCK)" <<'PY'
import sys
name, before, after, reqs, tck = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4]), int(sys.argv[5])
user, kernel = ((int(a) - int(b)) * 1e6 / tck / reqs for a, b in zip(after, before))
print(f"{name} CPU per request: {user + kernel:.1f} µs (user {user:.1f}, kernel {kernel:.1f}; {reqs} requests in 8 s)")
PY
}
echo "== proxied GET /apps/portal/ (to nginx static) =="
"$root/Tests/Benchmarks/compare-nginx.sh" "$base/apps/portal/" "$jar"
cpu_per_request gateway $pid "$base/apps/portal/"
echo "== GET /auth/verify =="
"$root/Tests/Benchmarks/compare-nginx.sh" "$base/auth/verify" "$jar" "X-Original-URI: /apps/portal/"
cpu_per_request gateway $pid "$base/auth/verify"
# The reference for what proxying alone costs on this setup: nginx itself as a reverse proxy (kept-alive upstream
# connections, no identity work) to the same upstream, on the same core.
proxy=$(free)
cat > "$work/proxy.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/proxy.pid;
error_log $work/proxy-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp;
  upstream app { server 127.0.0.1:$up; keepalive 64; }
  server { listen 127.0.0.1:$proxy backlog=4096;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CONF
taskset -c 1 nginx -c "$work/proxy.conf" -p "$work" &
proxy_pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$proxy/" >/dev/null && break; sleep 0.1; done
echo "== reference: nginx as a plain reverse proxy to the same upstream =="
"$root/Tests/Benchmarks/compare-nginx.sh" "http://127.0.0.1:$proxy/apps/portal/"
# nginx's worker (the master only watches it).
cpu_per_request "nginx proxy" "$(pgrep -P "$(cat "$work/proxy.pid")" | head -1)" "http://127.0.0.1:$proxy/apps/portal/"
kill -TERM $proxy_pid 2>/dev/null; wait $proxy_pid 2>/dev/null || true
echo "server RSS after the runs: $(awk '/VmRSS/{printf "%.1f MB", $2/1024}' /proc/$pid/status)"
