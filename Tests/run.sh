#!/usr/bin/env bash
# The whole test suite: builds everything (debug), runs the Swift tests (unit, in-memory HTTP, real sockets,
# TLS, the CLI binary, the split layout over loopback), then the end-to-end story against the real binary and
# a real SMTP server (aiosmtpd), all-in-one and as four processes.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
python3 Tests/E2E/story.py --binary "$(swift build --show-bin-path)/gatehouse"
