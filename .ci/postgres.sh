#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests on a free loopback port, as the unprivileged postgres user when
# run as root, and prints its URL. Installs Debian's postgresql when it is missing. Stop it with
#   pg_ctl -D "$WINMDM_CI_PGDIR/data" stop   (the same user)
set -euo pipefail
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pgbin)" ]; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BIN=$(pgbin)
DIR=$(mktemp -d /tmp/winmdm-ci-pg.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; AS=(runuser -u postgres --); fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >&2
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $DIR -F -c max_connections=300" start >&2
echo "WINMDM_CI_PGDIR=$DIR"
echo "WINMDM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
