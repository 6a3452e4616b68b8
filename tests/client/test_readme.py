"""README's "From the terminal and from Python": every command and snippet runs as written,
against a live server with a real worker (only the server's URL and the user differ)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.conftest import PASSWORD
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def readme_blocks(section: str) -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return dict((lang, code) for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, re.S))


def test_readme_client_section_runs_as_written(server, iris_csv, tmp_path):
    blocks = readme_blocks("From the terminal and from Python")
    script = (
        blocks["sh"]
        .replace("http://127.0.0.1:8000", server[0])
        .replace("--username admin", "--username ada")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOWNHILL_")} | {
        "HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DOWNHILL_PASSWORD": PASSWORD,  # what login would ask for
    }
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=iris_csv.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert "succeeded" in shell.stderr
    metrics = (iris_csv.parent / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("step,") and len(metrics) > 15
    out = shell.stdout.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("label,p_setosa"))
    assert [line.split(",")[0] for line in out[header + 1 : header + 4]] == ["setosa"] * 3
    assert [line.split()[0] for line in out[header + 5 : header + 8]] == [
        "steepest",
        "min_div_10",
        "valley",
    ]  # lr-find: after its first line (the range test's stop reason), the suggestions
    assert "finished · 4/4 trials done (4 complete" in shell.stderr
    assert "best: trial" in shell.stdout  # sweeps show

    python = subprocess.run(
        [sys.executable, "-c", blocks["python"]],
        cwd=iris_csv.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert python.returncode == 0, python.stderr
    assert "400 {'learning_rate': ['must be greater than 0, not -1.']}" in python.stdout, (
        python.stdout and "succeeded" in python.stdout
    )
