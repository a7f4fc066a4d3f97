#!/usr/bin/env bash
# The whole test suite: builds everything (debug) and runs the Swift tests (unit, in-memory HTTP, real
# sockets, TLS, the CLI binary). Suites that need outside tools are added here as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
