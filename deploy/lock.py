"""Write deploy/constraints.txt: the exact versions the images install (`make constraints`).

pip resolves the runtime roles (`.[web,worker,s3]`, no dev tools) from pyproject.toml without
installing anything, and every package it would install is pinned, so an image built next
month holds what was tested here. torch keeps its plain version: the CPU image takes the
+cpu build of it, the CUDA image PyPI's (whose nvidia-* and triton dependencies torch itself
pins exactly). tests/deploy/test_constraints.py checks the file against pyproject.toml.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLES = ".[web,worker,s3]"
HEADER = """\
# Exact versions of what deploy/'s images install, resolved from pyproject.toml's runtime
# extras by `make constraints` (deploy/lock.py); refresh it when pyproject.toml changes.
"""


def resolved() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
             "--quiet", "--disable-pip-version-check", "--report", str(report), ROLES],
            cwd=ROOT, check=True,
        )  # fmt: skip
        install = json.loads(report.read_text())["install"]
    versions = {i["metadata"]["name"]: i["metadata"]["version"] for i in install}
    versions.pop("downhill", None)
    return {name: version.split("+")[0] for name, version in versions.items()}


if __name__ == "__main__":
    pins = sorted(resolved().items(), key=lambda item: item[0].lower())
    (ROOT / "deploy" / "constraints.txt").write_text(
        HEADER + "".join(f"{name}=={version}\n" for name, version in pins)
    )
