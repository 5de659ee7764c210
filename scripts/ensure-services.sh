#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; start them where installed but stopped.
set -u
PGHOST=${ELDERCARE_TEST_PGHOST:-127.0.0.1}
PGPORT=${ELDERCARE_TEST_PGPORT:-5432}
REDIS_PORT=${ELDERCARE_TEST_REDIS_PORT:-6379}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "PostgreSQL client tools not found: install PostgreSQL (e.g. apt-get install postgresql) to run the tests." >&2
  exit 1
fi
if ! pg_up; then
  echo "PostgreSQL is not answering on $PGHOST:$PGPORT; trying to start it..."
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL could not be started: start it and run make test again." >&2; exit 1; }
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "Redis not found: install it (e.g. apt-get install redis-server) to run the tests." >&2
  exit 1
fi
if ! redis_up; then
  echo "Redis is not answering on 127.0.0.1:$REDIS_PORT; starting it..."
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  redis_up || { echo "Redis could not be started." >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up."
