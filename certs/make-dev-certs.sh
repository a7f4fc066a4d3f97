#!/usr/bin/env bash
# Creates a development CA and a server certificate for localhost / 127.0.0.1 / ::1 (OpenSSL CLI).
#   certs/make-dev-certs.sh [OUT_DIR]     (default: the folder of this script)
# Writes dev-ca.crt, dev-ca.key, server.crt (chain: server then CA), server.key. The keys are git-ignored;
# never use them outside development. Then set in config/gatehouse.json:
#   "tls": {"certificateFile": "certs/server.crt", "privateKeyFile": "certs/server.key"}
# and trust certs/dev-ca.crt in your client (curl --cacert certs/dev-ca.crt https://127.0.0.1:8443/healthz).
set -euo pipefail
out="${1:-$(cd "$(dirname "$0")" && pwd)}"
mkdir -p "$out"
cd "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -subj "/CN=Gatehouse Development CA" -keyout dev-ca.key -out dev-ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in server.csr -CA dev-ca.crt -CAkey dev-ca.key -CAcreateserial -days 397 \
  -extfile server.ext -out server.leaf.crt 2>/dev/null
cat server.leaf.crt dev-ca.crt > server.crt
rm -f server.csr server.ext server.leaf.crt dev-ca.srl
chmod 644 dev-ca.crt server.crt
echo "wrote $out/dev-ca.crt $out/server.crt $out/server.key (dev only)"
