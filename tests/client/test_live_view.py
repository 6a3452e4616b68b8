"""On a terminal, `downhill run --watch` draws a live view (progress bar, steps/s, ETA,
losses, sparkline) and ends when the run ends."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest

from tests.client.conftest import DOWNHILL

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def read_until_exit(master: int, process: subprocess.Popen, timeout: float) -> bytes:
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the process has ended
                break
            output += chunk
        elif process.poll() is not None:
            break
    return output


def run_on_a_terminal(downhill, *args, cwd, timeout=120) -> tuple[int, str]:
    """`downhill ARGS` with a pty as its terminal: (exit code, everything it drew)."""
    master, slave = pty.openpty()
    env = downhill.environment({"NO_COLOR": None, "TERM": "xterm-256color", "COLUMNS": "100"})
    process = subprocess.Popen(
        [DOWNHILL, *map(str, args)], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd
    )
    os.close(slave)
    try:
        screen = read_until_exit(master, process, timeout).decode(errors="replace")
        return process.wait(timeout=10), screen
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()


def test_live_view_renders_on_a_terminal_and_ends(downhill, iris_csv, tmp_path):
    dataset_id = downhill("datasets", "upload", iris_csv).stdout.strip()
    (tmp_path / "iris.yaml").write_text(f"dataset: {dataset_id}\nepochs: 12\nbatch_size: 8\n")
    code, screen = run_on_a_terminal(downhill, "run", "-c", "iris.yaml", "--watch", cwd=tmp_path)
    assert code == 0, screen[-2000:]
    assert "\x1b[" in screen  # a terminal gets colour and cursor movement
    assert "━" in screen  # the progress bar
    assert "steps/s" in screen and "ETA" in screen and "train_loss" in screen
    assert "epoch 12/12" in screen and re.search(r"run \d+ succeeded", screen)
    assert any(c in screen for c in "▁▂▃▄▅▆▇█")  # the loss sparkline


def test_upload_draws_a_progress_bar_on_a_terminal(downhill, iris_csv, tmp_path):
    size_kb = f"{iris_csv.stat().st_size / 1000:.1f}/{iris_csv.stat().st_size / 1000:.1f} kB"
    code, screen = run_on_a_terminal(downhill, "datasets", "upload", iris_csv, cwd=tmp_path)
    assert code == 0, screen
    assert "━" in screen and size_kb in screen, screen
