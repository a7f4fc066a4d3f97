#!/usr/bin/env bash
# SAML Response verification speed: Gatehouse (release build, full validation) against libxmlsec1 (parse +
# signature verification only) on the same signed ~6 KB Response (RSA-2048, SHA-256, signed by xmlsec1),
# each pinned to CPU 1, RUNS rounds of SECONDS each, medians and their ratio.
#   Tests/Benchmarks/saml-verify.sh          (env: RUNS=3 SECONDS_PER_RUN=3)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product SAMLBench >/dev/null
bench="$(swift build -c release --show-bin-path)/SAMLBench"
gcc -O2 -o "$work/xmlsec_verify" Tests/Benchmarks/saml/xmlsec_verify.c $(pkg-config --cflags --libs xmlsec1-openssl)
python3 - "$work" <<'PY'
import os, sys
sys.path.insert(0, "Tests/SAML")
import samlfixtures as fx
work = sys.argv[1]
keys = fx.make_keys(os.path.join(work, "keys"))
xml = fx.xmlsec_sign(fx.response_xml(padding=1100), *keys["idp"], what="assertion", workdir=work)
open(os.path.join(work, "response.xml"), "w").write(xml)
print(f"fixture: {len(xml.encode())} bytes, assertion signed by xmlsec1 (RSA-2048, SHA-256, exc-c14n)")
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=(); theirs=()
for i in $(seq 1 "$runs"); do
  ours+=("$(taskset -c 1 "$bench" "$work/response.xml" "$work/keys/idp.crt" "$secs" 2026-11-23T12:01:00Z http://127.0.0.1:9000/sp http://127.0.0.1:9000/acs | awk '{print $2}')")
  theirs+=("$(taskset -c 1 "$work/xmlsec_verify" "$work/response.xml" "$work/keys/idp.crt" "$secs" | awk '{print $2}')")
  echo "run $i: gatehouse ${ours[-1]}/s  libxmlsec1 ${theirs[-1]}/s"
done
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${theirs[@]}" | median)
echo "median: gatehouse $o verifications/s, libxmlsec1 $t verifications/s, ratio $(python3 -c "print(f'{$o/$t:.2f}')")x"
