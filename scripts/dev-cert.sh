#!/bin/sh
# `npm run dev-cert` (or `sh scripts/dev-cert.sh DIR`): a self-signed certificate for HTTPS on a local gateway,
# valid for localhost, 127.0.0.1, ::1 and the compose service name "gateway", written to DIR/dev.crt and
# DIR/dev.key (DIR defaults to certs/, which git and Docker ignore). For development only: clients trust it
# only when told to (curl --cacert certs/dev.crt, NODE_EXTRA_CA_CERTS=certs/dev.crt).
set -eu
dir="${1:-certs}"
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=Gatehouse development certificate" \
  -addext "subjectAltName=DNS:localhost,DNS:gateway,IP:127.0.0.1,IP:::1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$dir/dev.key" -out "$dir/dev.crt" 2>/dev/null
# The gateway container runs as another user than the one who made the file: it must be able to read the key.
chmod 644 "$dir/dev.key"
echo "wrote $dir/dev.crt and $dir/dev.key (self-signed, 30 days; trust it with curl --cacert $dir/dev.crt)"
