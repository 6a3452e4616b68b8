"""Celery: Redis in production, an embedded filesystem broker locally.

State lives in the database, so results are ignored; a training task is acknowledged only
after it ran (acks_late) and a worker takes one task at a time (prefetch 1).
"""

import socket
from pathlib import Path

from workers.contract.tasks import REQUEUE_STALE_TASK, TRAINING_QUEUE

from .env import VAR_DIR, env_int, env_str

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env_str("DOWNHILL_BROKER_DIR") or VAR_DIR / "broker").resolve()
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, writing each message under a temporary name first
    # (downhill/embedded_broker.py): a reader never sees a half-written message.
    CELERY_BROKER_TRANSPORT = "downhill.embedded_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # A long run outlives Redis' default one-hour visibility timeout; redelivery is harmless
    # (the task only starts a queued run) but pointless, so keep it well above a long run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 12 * 3600}

CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = TRAINING_QUEUE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# Lost workers: a running run whose heartbeat is older than DOWNHILL_HEARTBEAT_TIMEOUT seconds
# is requeued by the periodic sweep (Celery beat, every DOWNHILL_SWEEP_SECONDS) and resumes
# from its latest checkpoint (written every DOWNHILL_CHECKPOINT_SECONDS); after
# DOWNHILL_MAX_ATTEMPTS attempts it fails instead.
DOWNHILL_HEARTBEAT_TIMEOUT = env_int("DOWNHILL_HEARTBEAT_TIMEOUT", 30)
DOWNHILL_SWEEP_SECONDS = env_int("DOWNHILL_SWEEP_SECONDS", 10)
DOWNHILL_CHECKPOINT_SECONDS = env_int("DOWNHILL_CHECKPOINT_SECONDS", 30)
DOWNHILL_MAX_ATTEMPTS = env_int("DOWNHILL_MAX_ATTEMPTS", 3)
# Distributed runs (workers/distributed.py): how long node 0 waits for the other nodes to join
# the rendezvous before the attempt fails, and the address the other nodes reach node 0 at.
DOWNHILL_RENDEZVOUS_SECONDS = env_int("DOWNHILL_RENDEZVOUS_SECONDS", 300)
DOWNHILL_NODE_ADDRESS = env_str("DOWNHILL_NODE_ADDRESS") or socket.gethostname()
# A worker's share of a machine it shares with the web (workers/priority.py): every worker
# runs this much nicer than the web server (os.nice), so a page poll is answered before a
# training step is taken (bench/load); and a training worker uses at most this many torch
# threads (0: torch's choice, a thread per core, right for one worker per machine; `make run`
# gives each of its training workers an equal share of the cores).
DOWNHILL_WORKER_NICE = env_int("DOWNHILL_WORKER_NICE", 10)
DOWNHILL_TORCH_THREADS = env_int("DOWNHILL_TORCH_THREADS", 0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-runs": {
        "task": REQUEUE_STALE_TASK,
        "schedule": float(DOWNHILL_SWEEP_SECONDS),
        # Behind a long run a sweep waits; a newer one will do, so old ones expire.
        "options": {"queue": TRAINING_QUEUE, "expires": float(DOWNHILL_SWEEP_SECONDS)},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
