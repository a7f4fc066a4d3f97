#!/usr/bin/env bash
# The whole test suite: builds everything (debug), runs the Swift tests (unit, in-memory HTTP, real sockets,
# TLS, the CLI binary, the split layout over loopback), then the end-to-end story against the real binary and
# a real SMTP server (aiosmtpd), all-in-one and as four processes; the SAML attack corpus through
# `gatehouse saml verify` (signatures made by xmlsec1 and signxml); SAML interop with SimpleSAMLphp; the console
# story in headless Chromium (screenshots under .build/test-artifacts/); the trust boundaries with dnsmasq (SSO domain
# proof over DNS) and Chromium (no redirect off the origin).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
bin="$(swift build --show-bin-path)/gatehouse"
python3 Tests/E2E/story.py --binary "$bin"
python3 Tests/SAML/corpus.py --binary "$bin"
python3 Tests/Security/boundaries.py --binary "$bin"
python3 Tests/Interop/saml_interop.py --binary "$bin"
python3 Tests/Browser/console_story.py --binary "$bin"
