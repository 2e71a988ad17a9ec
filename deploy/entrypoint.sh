#!/bin/sh
# Container entry point: `entrypoint.sh <service> web|scheduler|migrate`.
# Web processes migrate first, retrying while the database starts.
set -eu
service="$1"
role="${2:-web}"

migrate() {
  attempt=1
  until python -m "services.$service" migrate; do
    if [ "$attempt" -ge 30 ]; then
      echo "$service: database still unreachable after $attempt attempts" >&2
      exit 1
    fi
    echo "$service: waiting for the database ($attempt)" >&2
    attempt=$((attempt + 1))
    sleep 2
  done
}

case "$role" in
  web)
    migrate
    exec gunicorn -c python:services.gunicorn_conf "services.$service:create_app()"
    ;;
  scheduler)
    exec python -m "services.$service" scheduler
    ;;
  migrate)
    migrate
    ;;
  *)
    echo "usage: entrypoint.sh <intake|kpi|notify> [web|scheduler|migrate]" >&2
    exit 2
    ;;
esac
