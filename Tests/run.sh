#!/usr/bin/env bash
# The whole test suite: builds everything (debug), runs the Swift tests (unit, in-memory HTTP, real sockets,
# TLS, the CLI binary, the split layout over loopback), then the end-to-end story against the real binary and
# a real SMTP server (aiosmtpd), all-in-one and as four processes; the SAML attack corpus through
# `gatehouse saml verify` (signatures made by xmlsec1 and signxml); ID tokens made by PyJWT through `gatehouse oidc
# verify`; SAML interop with SimpleSAMLphp; OpenID Connect interop with oidc-provider-mock (PyPI); the console
# story in headless Chromium (screenshots under .build/test-artifacts/); the trust boundaries with dnsmasq (SSO domain
# proof over DNS) and Chromium (no redirect off the origin). Then the store, tenant and gateway suites again on
# PostgreSQL (a throwaway cluster), and the scale-out story: two gateways and two replicas per region behind
# haproxy, races and kill -9 failover (Tests/ScaleOut/scaleout.py).
#
# It installs what is missing first, naming it in one line: Debian packages (when absent) and PyPI test tools.
# Needs only the Swift 6 toolchain and a Debian base; the SAML interop runs SimpleSAMLphp through the harness in
# Tests/Interop/ (idp.py: configuration written at run time, keys generated per run). About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v swift >/dev/null || { echo "Tests/run.sh: swift is missing; install the Swift 6 toolchain" >&2; exit 1; }
missing=()
for pkg in libssl-dev libxml2-dev libsqlite3-dev zlib1g-dev openssl curl python3 python3-pip xmlsec1 dnsmasq-base \
    chromium chromium-driver simplesamlphp php-cli php-xml php-mbstring libpq-dev postgresql haproxy nginx; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Tests/run.sh: installing missing Debian packages: ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # simplesamlphp wants "apache2 | httpd": the small lighttpd + php-cgi pair satisfies it (PHP's own server runs it).
  extra=()
  [[ " ${missing[*]} " == *" simplesamlphp "* ]] && extra=(php-cgi lighttpd)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${extra[@]}" \
    "${missing[@]}" >/dev/null
fi
# PyPI: a real SMTP server (aiosmtpd), HTTP probes (requests), signers for the SAML corpus (signxml, lxml),
# the browser driver (selenium), a JWT library for OpenID Connect tokens (PyJWT), an OpenID provider
# (oidc-provider-mock), axe-core for the console pages' accessibility (axe-selenium-python), Prometheus' parser
# (prometheus-client), the OpenAPI checker (schemathesis) and the SCIM checker (scim2-tester, with scim2-client's
# HTTP engine).
if ! python3 -c "import aiosmtpd, requests, signxml, lxml, selenium, jwt.algorithms, oidc_provider_mock, axe_selenium_python, prometheus_client, schemathesis, scim2_tester, httpx2" \
  >/dev/null 2>&1
then
  tools="aiosmtpd requests signxml lxml selenium PyJWT oidc-provider-mock axe-selenium-python prometheus-client schemathesis scim2-tester scim2-client[httpx2]"
  echo "Tests/run.sh: installing missing PyPI test tools: $tools"
  # shellcheck disable=SC2086
  pip install -q $tools 2>/dev/null || pip install -q --break-system-packages $tools
fi

swift build --build-tests
swift test --skip-build
# The same suites again on PostgreSQL: a throwaway cluster (initdb into a temp dir, loopback, stopped at the end).
pgdir="$(mktemp -d /tmp/gh-pg.XXXXXX)"
chmod 755 "$pgdir"
pgport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'Tests/Postgres/cluster.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
pgurl="$(Tests/Postgres/cluster.sh start "$pgdir" "$pgport")"
echo "Tests/run.sh: the Swift suites again on PostgreSQL ($pgurl)"
GATEHOUSE_TEST_POSTGRES="$pgurl" GATEHOUSE_TEST_POSTGRES_CA="$pgdir/server.crt" swift test --skip-build
bin="$(swift build --show-bin-path)/gatehouse"
python3 Tests/ScaleOut/scaleout.py --binary "$bin" --postgres "$pgurl"
python3 Tests/E2E/story.py --binary "$bin"
python3 Tests/SAML/corpus.py --binary "$bin"
python3 Tests/OIDC/jose_interop.py --binary "$bin"
python3 Tests/Security/boundaries.py --binary "$bin"
python3 Tests/Interop/saml_interop.py --binary "$bin"
python3 Tests/OIDC/oidc_interop.py --binary "$bin"
python3 Tests/Interop/app_gateway.py --binary "$bin"
python3 Tests/Interop/metrics.py --binary "$bin"
python3 Tests/Interop/openapi.py --binary "$bin" --max-time 30
python3 Tests/Interop/scim.py --binary "$bin"
python3 Tests/Browser/console_story.py --binary "$bin"
