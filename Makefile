# Every target sets itself up from a fresh clone: the virtualenv is (re)built when
# pyproject.toml changes.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser run worker beat test lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml client/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[web,worker,dev]" -e "./client[pandas]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import downhill_client, django, rest_framework, celery, torch, pytest, playwright" # fails loudly if the install did
	touch $(STAMP)

run: install
	./scripts/run.sh

# One worker per queue: `make worker` trains; `make worker QUEUE=datasets` reads large uploads
# (no GPU, no torch needed), so a long training run never holds one up.
QUEUE ?= training
worker: install
	$(PY) -m celery -A workers.app worker -Q $(QUEUE) --pool solo --loglevel INFO

# Exactly one per deployment: sends the sweep that requeues runs whose worker was lost.
# (`make run` starts one.)
beat: install
	$(PY) -m celery -A workers.app beat --loglevel INFO

# Browser tests drive Debian's chromium (a test tool's own browser download fails offline).
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install browser
	DOWNHILL_CHROMIUM=$(CHROMIUM) $(PY) -m pytest $(PYTEST_ARGS)

# ruff (with the complexity gate, C901 over 10) and the import contracts of pyproject.toml's
# [tool.importlinter]: the web imports only workers.contract of workers, the engine no Django.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=platform:. $(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks print a Markdown table, write bench/<name>/results/ and exit 1 below their gate
# (BENCHMARKS.md). BENCH_ARGS=--quick for a short smoke run.
.PHONY: bench bench-dispatch bench-lab-playground bench-engine bench-metrics-read bench-metrics-write bench-ingest bench-gpu bench-sweeps bench-quality
bench: bench-engine bench-metrics-read bench-metrics-write bench-ingest bench-sweeps bench-dispatch

bench-engine: install
	$(PY) bench/engine/run.py $(BENCH_ARGS)

bench-sweeps: install
	$(PY) bench/sweeps/run.py $(BENCH_ARGS)

# The defaults against scikit-learn on bundled and generated datasets (BENCH_ARGS=--quick).
bench-quality: install
	$(PY) bench/quality/run.py $(BENCH_ARGS)

bench-metrics-read: install
	$(PY) bench/metrics_read/run.py $(BENCH_ARGS)

# PostgreSQL only: a throwaway database next to DATABASE_URL's (or the local server's).
METRICS_DB ?= $(if $(findstring postgres,$(DATABASE_URL)),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres)
bench-metrics-write: install
	$(PY) bench/metrics_write/run.py --database-url $(METRICS_DB) $(BENCH_ARGS)

# `make run`'s script started cold on SQLite + the filesystem broker, then on PostgreSQL + Redis
# (a throwaway database beside DATABASE_URL's; CELERY_BROKER_URL's Redis, else its database 14):
# POST to first loss point.
bench-dispatch: install
	$(PY) bench/dispatch/run.py $(BENCH_ARGS)

# On a machine with a CUDA device only (BENCHMARKS.md, "The GPU path").
bench-gpu: install
	$(PY) bench/gpu/run.py $(BENCH_ARGS)

# The playground's request-to-drawn time in chromium, with a real worker (bench/lab/playground.py).
bench-lab-playground: install
	$(PY) bench/lab/playground.py $(BENCH_ARGS)

# Compares with pandas.read_csv: installs the `bench` extra (pandas) when it is missing.
bench-ingest: install
	$(PY) -c "import pandas" 2>/dev/null || $(PY) -m pip install --quiet --disable-pip-version-check -e ".[web,worker,dev,bench]"
	$(PY) bench/ingest/run.py $(BENCH_ARGS)

# The exact versions deploy/'s images install, from pyproject.toml's runtime extras.
.PHONY: constraints
constraints: install
	$(PY) deploy/lock.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
