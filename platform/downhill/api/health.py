"""Broker reachability for the health endpoint."""

from __future__ import annotations


def broker_reachable(timeout: float = 2.0) -> str:
    from downhill.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return "ok"
    except Exception as exc:  # report, never raise
        return f"unreachable: {exc.__class__.__name__}"
