#!/usr/bin/env bash
# `make run`: migrate, ensure the admin user, then the web server on $PORT and one Celery
# worker. Ctrl-C (or SIGTERM) stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
BIND="${DOWNHILL_BIND:-127.0.0.1}"

echo "Database: ${DATABASE_URL:-SQLite in var/ (set DATABASE_URL for PostgreSQL)}"
echo "Broker:   ${CELERY_BROKER_URL:-embedded filesystem broker in var/ (set CELERY_BROKER_URL for Redis)}"
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
$PY manage.py ensure_admin

pids=()
stop() {
    trap - INT TERM EXIT
    echo "Stopping web server and worker..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # A run in progress ends at its next metrics write (about a second) and is marked failed,
    # saying the worker stopped; a worker stuck elsewhere is stopped cold after 30 s.
    for _ in $(seq 30); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 1; done
    kill -QUIT "${pids[1]}" 2>/dev/null || true
    wait || true
}
trap stop INT TERM EXIT

# --beat: this worker also sends the periodic sweep that requeues runs whose worker was lost.
$PY -m celery -A workers.app worker -Q training --pool solo --beat --loglevel INFO \
    --hostname "worker-$$@%h" &
worker_pid=$!
$PY -m gunicorn downhill.wsgi:application --chdir platform --bind "$BIND:$PORT" \
    --workers 2 --threads 4 --access-logfile - &
pids=($! "$worker_pid")
echo "Downhill is starting on http://$BIND:$PORT/ (API docs: /api/docs/). Ctrl-C stops it."
wait -n
