"""CI's short chaos run (bench/chaos/run.py --quick, on the embedded defaults): 4 runs on 2
training workers of `make run` while training workers are killed and beat is stopped; every run
succeeds with one point per step and nothing is lost. About 2 minutes; the full benchmark and
the PostgreSQL + Redis stack are `bench/chaos/run.py` (figures in BENCHMARKS.md)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.worker_faults]


def test_the_short_chaos_run_passes_its_assertions():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos" / "run.py"), "--stack", "embedded",
         "--quick", "--no-save"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "problems: none" in result.stdout
    assert "| kill_worker |" in result.stdout
