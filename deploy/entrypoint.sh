#!/bin/sh
# One entry point for every Downhill container: the first argument names the role.
#   web              gunicorn on $PORT (8000)
#   migrate          the database schema, then the admin user (DOWNHILL_ADMIN_*); run once per release
#   beat             Celery beat: the lost-worker sweep. Exactly one per deployment
#   worker-datasets  reads large uploads (queue `datasets`); no torch needed
#   worker-training  trains runs (queue `training`); one per GPU
# Anything else is run as given (`manage.py shell`, `sh`, ...).
# The same script runs outside a container (tests/deploy/test_entrypoint_smoke.py): it works
# from the checkout it lives in, with the `python` found on PATH.
set -eu
cd "$(dirname "$0")/.."

role="${1:-web}"
[ $# -gt 0 ] && shift

case "$role" in
web)
    exec python -m gunicorn downhill.wsgi:application --chdir platform \
        --bind "${DOWNHILL_BIND:-0.0.0.0}:${PORT:-8000}" \
        --workers "${WEB_CONCURRENCY:-2}" --threads "${WEB_THREADS:-4}" \
        --access-logfile - --no-control-socket "$@"
    ;;
migrate)
    python manage.py migrate --noinput "$@"
    exec python manage.py ensure_admin
    ;;
beat)
    exec python -m celery -A workers.app beat --loglevel "${DOWNHILL_LOG_LEVEL:-INFO}" "$@"
    ;;
worker-datasets | worker-training)
    queue="${role#worker-}"
    # The solo pool: one task at a time, in this process (a run owns its GPU and its memory).
    exec python -m celery -A workers.app worker -Q "$queue" --pool solo \
        --hostname "$queue@%h" --loglevel "${DOWNHILL_LOG_LEVEL:-INFO}" "$@"
    ;;
*)
    exec "$role" "$@"
    ;;
esac
