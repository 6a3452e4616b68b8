"""Container health check: `python deploy/healthcheck.py web|broker`; exit 0 when healthy.

web     GET /api/v1/health/ on this container's port: 200 when the database and the broker
        answer (the endpoint checks both).
broker  the Celery broker answers. For workers and beat: a solo-pool worker busy training
        answers no remote-control ping until its run ends, so its process being alive (the
        container's PID 1) and its broker reachable is what can be checked. A worker that hangs
        is found by the run's heartbeat in the database, and its run requeued by the sweep.
Imports neither Django nor torch: it runs every few seconds.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_S = 5


def web_ok() -> bool:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/health/",
        # `localhost` is in DOWNHILL_ALLOWED_HOSTS (deploy/.env.example, the ConfigMap); the
        # forwarded scheme keeps DOWNHILL_SECURE's HTTPS redirect from answering instead.
        headers={"Host": "localhost", "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError) as error:
        print(f"health endpoint: {error}", file=sys.stderr)
        return False


def broker_ok() -> bool:
    from kombu import Connection

    url = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
    with Connection(url, connect_timeout=TIMEOUT_S) as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=TIMEOUT_S)
            return True
        except Exception as error:  # noqa: BLE001 - any failure means unhealthy, said on stderr
            print(f"broker {connection.as_uri()}: {error}", file=sys.stderr)  # password masked
            return False


CHECKS = {"web": web_ok, "broker": broker_ok}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CHECKS:
        sys.exit(f"usage: healthcheck.py {'|'.join(CHECKS)}")
    sys.exit(0 if CHECKS[sys.argv[1]]() else 1)
