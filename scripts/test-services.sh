#!/usr/bin/env bash
# Makes sure what `npm test` talks to is there: Redis and PostgreSQL running on 127.0.0.1, and
# the real peers' binaries (prometheus, promtool, prometheus-alertmanager, amtool, redis-server). As root
# with apt-get it installs and starts what is missing; otherwise it says what to install.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null || command -v pg_isready >/dev/null || missing+=(postgresql)
command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
# Debian's `prometheus` package has both the server (closed-loop e2e test) and promtool.
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test-services: installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test-services: missing ${missing[*]}: install them (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if [ -z "${TEST_REDIS_URL:-}" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-services: starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if [ -z "${TEST_DATABASE_URL:-}" ] && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ] || [ "$(id -u)" != 0 ]; then
    echo "test-services: PostgreSQL is not running on 127.0.0.1:5432 (or set TEST_DATABASE_URL)" >&2
    exit 1
  fi
  echo "test-services: starting PostgreSQL $version"
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # A fresh Debian cluster wants passwords over TCP; the tests connect as postgres with trust.
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" \
    || sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 30); do
  ok=1
  [ -n "${TEST_DATABASE_URL:-}" ] || pg_isready -h 127.0.0.1 -p 5432 -q || ok=0
  [ -n "${TEST_REDIS_URL:-}" ] || redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || ok=0
  [ $ok = 1 ] && break
  sleep 1
done
[ $ok = 1 ] || { echo "test-services: Redis or PostgreSQL did not come up" >&2; exit 1; }

# BullMQ may lose jobs under eviction; the tests' Redis must not evict.
if [ -z "${TEST_REDIS_URL:-}" ]; then
  policy=$(redis-cli -h 127.0.0.1 -p 6379 config get maxmemory-policy | tail -n 1)
  [ "$policy" = noeviction ] || echo "test-services: warning: redis maxmemory-policy is $policy, not noeviction" >&2
fi
