#!/usr/bin/env bash
# SQLite and PostgreSQL side by side in one run: a throwaway PostgreSQL (Tests/Postgres/cluster.sh), then the
# route matrix's rows for an org read, the members list and an invite write, each against nginx's static
# response (matrix.sh), once per backend; then the tenant benchmark (10,000-address invite, member search over
# 100,000 members) per backend. Release builds; medians of RUNS.
#   Tests/Benchmarks/postgres.sh      env: as matrix.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
pgdir="$(mktemp -d /tmp/gh-bench-pg.XXXXXX)"
chmod 755 "$pgdir"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'Tests/Postgres/cluster.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
url="$(Tests/Postgres/cluster.sh start "$pgdir" "$port")"
rows="orgs/:org (session)|10,000 members)|POST /invites"
echo "## SQLite"
Tests/Benchmarks/matrix.sh "$rows"
echo "## PostgreSQL ($url, same machine)"
POSTGRES_URL="$url" Tests/Benchmarks/matrix.sh "$rows"
swift build -c release --product TenantBench >/dev/null
bench="$(swift build -c release --show-bin-path)/TenantBench"
echo "## Tenant benchmark, SQLite"
BENCH_SYNC=NORMAL "$bench"
echo "## Tenant benchmark, PostgreSQL"
POSTGRES_URL="$url" "$bench"
