#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: `cluster.sh start DIR PORT` initialises a cluster in DIR (as the
# unprivileged `postgres` user when run as root: initdb refuses root), starts it on 127.0.0.1:PORT with
# settings for tests (no fsync, enough connections for parallel suites) and TLS with a certificate made for
# 127.0.0.1 (DIR/server.crt, its own CA: `sslmode=verify-full&sslrootcert=DIR/server.crt`), creates database
# `gatehouse` and prints its URL; `cluster.sh stop DIR` stops it. Debian's `postgresql` package provides the
# binaries.
set -euo pipefail
cmd="$1"; dir="$2"; port="${3:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "cluster.sh: PostgreSQL server binaries not found (Debian package postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      "${as[@]}" "$bin/initdb" -D "$dir/data" -U gatehouse --auth=trust --no-locale -E UTF8 >"$dir/initdb.log"
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -addext basicConstraints=critical,CA:TRUE -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
      chmod 600 "$dir/server.key"
      [ "$(id -u)" -eq 0 ] && chown postgres "$dir/server.key" "$dir/server.crt"
    fi
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
       -c max_connections=2000 -c shared_buffers=128MB -c ssl=on -c ssl_cert_file=$dir/server.crt \
       -c ssl_key_file=$dir/server.key" start >/dev/null
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U gatehouse -d postgres -c "CREATE DATABASE gatehouse" 2>/dev/null || true
    echo "postgres://gatehouse@127.0.0.1:$port/gatehouse"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: cluster.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
