"""`pip install ./client` in a virtualenv of its own, with neither Django nor torch, gives a
working library and `downhill` command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_client_installs_and_works_without_django_or_torch(server, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    # This environment's pip installs into the new one (faster than bootstrapping its own).
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", ROOT / "client"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    for heavy in ("django", "torch", "rest_framework", "numpy", "pandas"):
        absent = subprocess.run([python, "-c", f"import {heavy}"], capture_output=True)
        assert absent.returncode != 0, f"{heavy} is in the client's environment"

    env = {
        "PATH": "/usr/bin:/bin",
        "DOWNHILL_URL": server[0],
        "DOWNHILL_TOKEN": server[1],
        "HOME": str(tmp_path),
    }
    listed = subprocess.run(
        [venv / "bin" / "downhill", "runs", "ls", "--json"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    script = textwrap.dedent("""
        import sys
        from downhill_client import Client, Metrics
        metrics = Metrics({"loss": {"steps": [1, 2], "values": [0.5, 0.25]}})
        assert metrics.rows() == [[1, 0.5], [2, 0.25]]  # plain lists without pandas
        try:
            metrics.to_dataframe()
        except ImportError as exc:
            assert "downhill-client[pandas]" in str(exc)
        print(Client().health()["status"], sorted({"django", "torch"} & set(sys.modules)))
    """)
    used = subprocess.run([python, "-c", script], capture_output=True, text=True, env=env)
    assert used.stdout.split(maxsplit=1) == ["ok", "[]\n"], used.stderr
