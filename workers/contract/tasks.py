"""Celery task and queue names. The web enqueues by these names after its commit (so it never
imports the worker's code); the settings route and schedule with them."""

TRAINING_QUEUE = "training"
TRAIN_RUN_TASK = "downhill.train_run"
REQUEUE_STALE_TASK = "downhill.requeue_stale_runs"
# Large uploads are read on a queue of their own, so an hour of training never holds one up.
DATASETS_QUEUE = "datasets"
PROCESS_DATASET_TASK = "downhill.process_dataset"
# A distributed run's other machines: node 0's task sends one per further node (workers/distributed.py).
TRAIN_NODE_TASK = "downhill.train_node"
