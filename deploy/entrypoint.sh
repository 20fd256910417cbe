#!/bin/sh
# The image's entry point: `digituki-role ROLE [ARGS]` runs one role of the assistant.
# In a container every service listens on 0.0.0.0 unless its host variable says otherwise:
# the container's network (and a Kubernetes NetworkPolicy) decides who reaches it.
set -eu
role="${1:-help}"
[ "$#" -gt 0 ] && shift
export DIGITUKI_RASA_HOST="${DIGITUKI_RASA_HOST:-0.0.0.0}"
export DIGITUKI_ACTION_HOST="${DIGITUKI_ACTION_HOST:-0.0.0.0}"
export DIGITUKI_WEB_HOST="${DIGITUKI_WEB_HOST:-0.0.0.0}"
export DIGITUKI_METRICS_HOST="${DIGITUKI_METRICS_HOST:-0.0.0.0}"
case "$role" in
  rasa)
    exec python -m connectors.rasa_server --model "${DIGITUKI_MODEL}" \
      --endpoints "${DIGITUKI_ENDPOINTS:-endpoints.production.yml}" \
      --port "${DIGITUKI_RASA_PORT:-5005}" "$@" ;;
  actions)
    exec python -m actions.server --port "${DIGITUKI_ACTION_PORT:-5055}" "$@" ;;
  web)
    exec python -m bot.web "$@" ;;
  events)
    exec python -m bot.conversations.worker "$@" ;;
  migrate)
    exec python -m bot.cli db upgrade "$@" ;;
  import-demo)
    exec python -m bot.cli providers import --source demo data/providers/demo.csv "$@" ;;
  cli)
    exec python -m bot.cli "$@" ;;
  help|--help|-h)
    cat <<'HELP'
digituki-role ROLE [ARGS]   one role of the Digituki assistant (docs/deploy.md)

  rasa         the Rasa server: widget and Messenger channels, HTTP API (port 5005)
               needs DIGITUKI_DATABASE_URL, DIGITUKI_REDIS_URL, DIGITUKI_RABBITMQ_URL,
               DIGITUKI_RASA_TOKEN, DIGITUKI_ACTION_TOKEN, DIGITUKI_ACTION_SERVER_URL
  actions      the action server (port 5055): DIGITUKI_DATABASE_URL, DIGITUKI_ACTION_TOKEN
  web          the web service (port 8080): widget script, console, coordinators' pages
  events       the events worker: RabbitMQ to the database
  migrate      create or migrate the database and load the gazetteer (a one-shot job)
  import-demo  import the demo providers (a one-shot job; idempotent)
  cli ...      the digituki command (providers import, agents add, report, ...)
HELP
    ;;
  *)
    echo "digituki-role: unknown role '$role' (digituki-role help lists them)" >&2
    exit 2 ;;
esac
