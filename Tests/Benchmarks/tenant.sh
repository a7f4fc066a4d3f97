#!/usr/bin/env bash
# Region tenant benchmark (release build): 10,000 invites in one request; the members list of a 100,000-member
# org (page 1 by last active with every kind of search term, later pages by cursor); member lookups.
#   Tests/Benchmarks/tenant.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product TenantBench >/dev/null
exec taskset -c 1 "$(swift build -c release --show-bin-path)/TenantBench"
