#!/usr/bin/env bash
# Console server time: members page of an org with 10,000 members (and a search, a sort, the invites page),
# the whole app in memory, release build, pinned to CPU 1; p50/p95 of 200 requests each.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product ConsoleBench >/dev/null
taskset -c 1 "$(swift build -c release --show-bin-path)/ConsoleBench"
