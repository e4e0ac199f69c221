#!/bin/sh
# Initializes the cluster on first start (user and database `guestbook`, password from the
# secret), then runs postgres as PID 1 (setpriv execs, so SIGTERM reaches postgres).
set -e
PG=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password=$(cat /run/secrets/db_password)
  as_postgres "$PG/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_postgres "$PG/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=" -w start >/dev/null
  as_postgres psql -q -v ON_ERROR_STOP=1 -U postgres \
    -c "CREATE USER guestbook PASSWORD '$password'" \
    -c "CREATE DATABASE guestbook OWNER guestbook"
  as_postgres "$PG/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  echo "database initialized"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$PG/postgres" -D "$PGDATA" -c listen_addresses='*'
