#!/usr/bin/env bash
# CI only: local stand-ins for the four official images deploy/compose.yaml names
# (postgres:15, redis:7, rabbitmq:3, haproxy:2.6), for machines that reach Debian's and
# PyPI's mirrors but no container registry. Users pull the real images (`docker compose
# pull`, `podman pull`); nothing here is part of their path.
#
#   deploy/ci/service-images.sh
#
# Each image is Debian bookworm (minbase, from mmdebstrap, no documentation) with that
# service's Debian package and a small entry point that behaves like the official image's
# as far as compose.yaml relies on it:
#
#   postgres  POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; initdb into
#             /var/lib/postgresql/data on the first start; listens on every address with
#             password authentication; pg_isready on the PATH; runs as postgres
#   redis     redis-server (protected mode off, as in the official image), redis-cli;
#             data in /data; runs as redis
#   rabbitmq  RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS; data in /var/lib/rabbitmq;
#             rabbitmq-diagnostics works for root and rabbitmq; runs as rabbitmq
#   haproxy   `haproxy -f /usr/local/etc/haproxy/haproxy.cfg` in the foreground, as the
#             user haproxy
#
# They are tagged with exactly the names compose.yaml uses. An image that exists
# already (a real one, or one made before) is left alone. Prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/ci/podman-setup.sh >/dev/null

started=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# No documentation, manual pages or translations in any image.
SLIM=(
  --variant=minbase --quiet
  --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log'
)

# SETUP=HOOK build TAG PACKAGES ENTRYPOINT_FILE [podman import --change ...]
# HOOK is an mmdebstrap customize hook: a shell command run on the new root ("$1").
build() {
  local tag=$1 packages=$2 entrypoint=$3
  shift 3
  if podman image exists "$tag"; then
    echo "service image: $tag is there"
    return
  fi
  local begun rootfs="$work/$(echo "$tag" | tr '/:' '__').tar"
  begun=$(date +%s)
  mmdebstrap "${SLIM[@]}" --include="$packages" \
    --customize-hook="cp '$entrypoint' \"\$1/usr/local/bin/docker-entrypoint.sh\"" \
    --customize-hook='chmod 755 "$1/usr/local/bin/docker-entrypoint.sh"' \
    --customize-hook="$SETUP" \
    bookworm "$rootfs"
  # PATH as the official images set it: podman kube play gives a container only the
  # image's variables and its own, so without it the entry point is not found.
  podman import --quiet --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$@" "$rootfs" "$tag" >/dev/null
  rm -f "$rootfs"
  local bytes
  bytes="$(podman image inspect "$tag" --format '{{.Size}}')"
  echo "service image: $tag built in $(( $(date +%s) - begun )) s, $(( bytes / 1000000 )) MB"
}

# --- postgres ------------------------------------------------------------------------
cat >"$work/postgres.sh" <<'ENTRY'
#!/bin/sh
# Stand-in for the official postgres image's entry point (CI only; deploy/ci/service-images.sh).
set -eu
if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?the database is not initialised and POSTGRES_PASSWORD is not set}"
  user="${POSTGRES_USER:-postgres}"
  database="${POSTGRES_DB:-$user}"
  secret="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$secret"
  initdb --username="$user" --pwfile="$secret" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
  rm -f "$secret"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    echo "CREATE DATABASE \"$database\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres stand-in: initialised $PGDATA (user $user, database $database)"
fi
exec "$@"
ENTRY
SETUP='rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"' build docker.io/library/postgres:15 postgresql-15 "$work/postgres.sh" \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'VOLUME /var/lib/postgresql/data' \
  --change 'STOPSIGNAL SIGINT' --change 'EXPOSE 5432' --change 'CMD ["postgres"]'

# --- redis ---------------------------------------------------------------------------
cat >"$work/redis.sh" <<'ENTRY'
#!/bin/sh
# Stand-in for the official redis image's entry point (CI only; deploy/ci/service-images.sh).
set -eu
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then
  shift
  # The official image builds Redis with protected mode off: a container's network
  # decides who reaches it. Its options come first, so a config file stays the first.
  case "${1:-}" in
    ""|--*) set -- redis-server --protected-mode no "$@" ;;
    *) set -- redis-server "$@" ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
ENTRY
SETUP='mkdir -p "$1/data"' build docker.io/library/redis:7 redis-server "$work/redis.sh" \
  --change 'WORKDIR /data' --change 'VOLUME /data' --change 'EXPOSE 6379' \
  --change 'CMD ["redis-server"]'

# --- rabbitmq ------------------------------------------------------------------------
cat >"$work/rabbitmq.sh" <<'ENTRY'
#!/bin/sh
# Stand-in for the official rabbitmq image's entry point (CI only; deploy/ci/service-images.sh).
set -eu
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  # The first start creates this user (later starts keep the stored users).
  {
    echo "loopback_users = none"
    [ -z "${RABBITMQ_DEFAULT_USER:-}" ] || echo "default_user = $RABBITMQ_DEFAULT_USER"
    [ -z "${RABBITMQ_DEFAULT_PASS:-}" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  } >/etc/rabbitmq/conf.d/10-defaults.conf
  chmod 640 /etc/rabbitmq/conf.d/10-defaults.conf
  chgrp rabbitmq /etc/rabbitmq/conf.d/10-defaults.conf
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
exec "$@"
ENTRY
# Debian's scripts log to files and listen on the loopback only: the official image logs
# to standard output and listens on every address. Root's Erlang cookie is the server's,
# so `rabbitmq-diagnostics` works in a health check whoever runs it.
# shellcheck disable=SC2016
SETUP='set -e
  mkdir -p "$1/etc/rabbitmq/conf.d"
  printf "log.console = true\nlog.console.level = info\nlog.file = false\n" >"$1/etc/rabbitmq/conf.d/00-container.conf"
  : >"$1/etc/rabbitmq/rabbitmq-env.conf"
  ln -sf /var/lib/rabbitmq/.erlang.cookie "$1/root/.erlang.cookie"' \
build docker.io/library/rabbitmq:3 rabbitmq-server "$work/rabbitmq.sh" \
  --change 'ENV HOME=/var/lib/rabbitmq' \
  --change 'ENV PATH=/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'VOLUME /var/lib/rabbitmq' --change 'EXPOSE 5672' \
  --change 'CMD ["rabbitmq-server"]'

# --- haproxy -------------------------------------------------------------------------
cat >"$work/haproxy.sh" <<'ENTRY'
#!/bin/sh
# Stand-in for the official haproxy image's entry point (CI only; deploy/ci/service-images.sh).
set -eu
if [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; fi
if [ "$1" = haproxy ]; then
  shift
  # Master-worker mode, in the foreground, logging to standard output.
  set -- haproxy -W -db "$@"
fi
exec "$@"
ENTRY
SETUP='mkdir -p "$1/usr/local/etc/haproxy" && cp "$1/etc/haproxy/haproxy.cfg" "$1/usr/local/etc/haproxy/"' \
build docker.io/library/haproxy:2.6 haproxy "$work/haproxy.sh" \
  --change 'USER haproxy' --change 'WORKDIR /var/lib/haproxy' --change 'STOPSIGNAL SIGUSR1' \
  --change 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'

echo "service images: $(( $(date +%s) - started )) s"
