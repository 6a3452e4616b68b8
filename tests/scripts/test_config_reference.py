"""README's experiment-config reference is generated from the spec and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "config_reference.py"


def test_readme_config_reference_is_what_the_spec_generates():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_table_is_caught(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import config_reference

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("| `batch_size` | `32` |", "| `batch_size` | `30` |")
    assert stale != readme
    assert config_reference.render(stale) == readme


def test_every_setting_and_schedule_has_a_row():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    from workers.contract import spec

    for setting in spec.SETTINGS:
        assert f"| `{setting.key}` |" in readme, setting.key
    for name in spec.LR_SCHEDULES:
        assert f"| `{name}` |" in readme, name
