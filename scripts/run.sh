#!/usr/bin/env bash
# `make run`: migrate, ensure the admin user, then the web server on $PORT, two Celery
# workers: one training (queue `training`), one reading large uploads (queue `datasets`), so an
# hour of training never holds up an upload, and Celery beat. One that dies is started again
# (with a backoff and a limit); Ctrl-C (or SIGTERM) stops everything it started.
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
names=()
# The pids (of "${pids[@]}") still running, with their names, on one line.
still_running() {
    local i out=""
    for i in "${!pids[@]}"; do
        kill -0 "${pids[$i]}" 2>/dev/null && out+="${names[$i]} (pid ${pids[$i]}) "
    done
    echo "$out"
}
# Wait up to $1 seconds for everything started here to exit; true when it did.
wait_for_exit() {
    for _ in $(seq "$(($1 * 5))"); do
        [ -z "$(still_running)" ] && return 0
        sleep 0.2
    done
    [ -z "$(still_running)" ]
}
stop() {
    trap - INT TERM HUP EXIT
    if [ -n "${waiter:-}" ]; then kill "$waiter" 2>/dev/null || true; fi
    echo "Stopping web server and workers..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # A restart's backoff in progress (up to 30 s): the final `wait` would wait for it too.
    [ -n "${backoff:-}" ] && kill "$backoff" 2>/dev/null || true
    [ -n "${tick:-}" ] && kill "$tick" 2>/dev/null || true
    # A run in progress ends at its next metrics write (about a second), stores a checkpoint
    # and goes back to the queue, to resume there at the next start. Whatever is stuck
    # elsewhere (or reading a large upload, which is read again from the start next time) is
    # stopped cold after 30 s, and killed 10 s after that: Ctrl-C always ends `make run`.
    if ! wait_for_exit 30; then
        echo "Still running 30 s after the stop: $(still_running)- stopping cold"
        kill -QUIT "${pids[@]}" 2>/dev/null || true
        if ! wait_for_exit 10; then
            echo "Still running 10 s after that: $(still_running)- killing"
            for pid in "${pids[@]}"; do
                pkill -KILL -P "$pid" 2>/dev/null || true  # e.g. gunicorn's workers
                kill -KILL "$pid" 2>/dev/null || true
            done
        fi
    fi
    wait || true
    if [ -n "${WARM_DIR:-}" ]; then rm -rf "$WARM_DIR"; fi
}
# Ctrl-C, SIGTERM or a hangup is a clean stop: exit 0 (stop() runs on the way out), so `make`
# prints no "Error 130/143". Stopping everything after too many deaths keeps its status.
trap stop EXIT
trap 'exit 0' INT TERM HUP

# Every process runs in a session of its own (setsid), so Ctrl-C in the terminal reaches it
# only as stop()'s SIGTERM, once: signalled twice (by the terminal, then by stop() or, for
# gunicorn's workers, by their arbiter) a Celery worker or a gunicorn worker now and then hung.
# DOWNHILL_TRAINING_WORKERS (1) training workers, each one run at a time.
TRAINING_WORKERS="${DOWNHILL_TRAINING_WORKERS:-1}"
# Each training worker creates a file here once warm (workers/warm.py); the ready line waits
# for all of them.
WARM_DIR="$(mktemp -d "${TMPDIR:-/tmp}/downhill-warm.XXXXXX")"
# Each training worker's torch threads: an equal share of the cores (one at least), so that
# workers never spin on each other's cores; they also run below the web's CPU priority
# (DOWNHILL_WORKER_NICE), so the dashboard stays quick while they train.
cores=$(nproc 2>/dev/null || echo 1)
export DOWNHILL_TORCH_THREADS="${DOWNHILL_TORCH_THREADS:-$(( cores / TRAINING_WORKERS > 0 ? cores / TRAINING_WORKERS : 1 ))}"
names=("web server" "datasets worker" "beat")
for k in $(seq "$TRAINING_WORKERS"); do names+=("training worker $k"); done
start_process() {
    case "$1" in
    0) setsid $PY -m gunicorn downhill.wsgi:application --chdir platform --bind "$BIND:$PORT" \
        --workers 2 --threads 4 --access-logfile - --no-control-socket & ;;
    1) setsid $PY -m celery -A workers.app worker -Q datasets --pool solo --loglevel INFO \
        --hostname "datasets-$$@%h" & ;;
    # The periodic sweep that requeues runs whose worker was lost (its own process rather than
    # a worker's --beat, which sometimes kept the worker from finishing its shutdown). Warnings
    # only: at INFO it logs every send (every 10 s) and buries the web server's address.
    2) setsid $PY -m celery -A workers.app beat --loglevel WARNING & ;;
    *) DOWNHILL_WARM_MARKER="$WARM_DIR/worker$(($1 - 2))" \
        setsid $PY -m celery -A workers.app worker -Q training --pool solo --loglevel INFO \
        --hostname "worker$(($1 - 2))-$$@%h" & ;;
    esac
    pids[$1]=$!
    started_at[$1]=$SECONDS
}
for i in "${!names[@]}"; do start_process "$i"; restarts[$i]=0; done
echo "Downhill is starting on http://$BIND:$PORT/ (API docs: /api/docs/). Ctrl-C stops it."
# "Downhill is ready on ..." once the web answers and every training worker is warm: a run
# created then shows its first loss point at once (bench/dispatch).
case "$BIND" in 0.0.0.0 | "::") HEALTH_HOST=127.0.0.1 ;; *) HEALTH_HOST="$BIND" ;; esac
$PY scripts/wait_ready.py "http://$HEALTH_HOST:$PORT/api/v1/health/" "$WARM_DIR" \
    "$TRAINING_WORKERS" "${DOWNHILL_READY_TIMEOUT:-300}" &
waiter=$!

# A process that dies (a worker killed for memory, say) is started again, after 1, 2, 4 ... 30 s
# while it keeps dying within a minute of its start; the others stay up, and a run its worker
# held resumes from its checkpoint once the sweep finds it lost. RESTART_LIMIT quick deaths in a
# row stop everything.
RESTART_LIMIT="${DOWNHILL_RESTART_LIMIT:-5}"
# Process $1 died with status $2 ("unknown" when bash reaped it unasked): start it again.
restart_process() {
    local i=$1 status=$2 pid=${pids[$1]}
    (( SECONDS - started_at[i] >= 60 )) && restarts[$i]=0
    restarts[$i]=$(( restarts[i] + 1 ))
    if (( restarts[i] > RESTART_LIMIT )); then
        echo "The ${names[$i]} (pid $pid) exited with status $status, its ${RESTART_LIMIT}th quick death in a row: stopping everything"
        exit 1
    fi
    delay=$(( 1 << (restarts[i] - 1) )); (( delay > 30 )) && delay=30
    echo "The ${names[$i]} (pid $pid) exited with status $status: starting it again in $delay s (restart ${restarts[$i]} of at most $RESTART_LIMIT in a row)"
    sleep "$delay" & backoff=$!
    wait "$backoff" || true
    backoff=
    start_process "$i"
    echo "The ${names[$i]} runs again (pid ${pids[$i]})"
}
# `wait -n` learns of a death only while bash still holds the process as a job: one that dies
# during another's restart backoff is reaped then, and `wait -n` no longer knows it (bench/chaos
# found two training workers killed so never started again). So every process is also looked
# at each time `wait -n` returns, and it returns at least every 5 s (a `sleep 5` among those
# it waits for).
while true; do
    sleep 5 & tick=$!
    status=0
    died=
    wait -n -p died "${pids[@]}" "$tick" 2>/dev/null || status=$?
    for i in "${!pids[@]}"; do
        if [ "${pids[$i]}" = "${died:-}" ]; then
            restart_process "$i" "$status"
        elif ! kill -0 "${pids[$i]}" 2>/dev/null; then
            restart_process "$i" unknown
        fi
    done
done
