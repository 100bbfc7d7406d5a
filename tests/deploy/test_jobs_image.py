"""Folio's jobs image, the base of workers of users' job kinds
(``docker/jobs.Dockerfile``): hadolint-clean, slim, non-root, with a health
check, and it keeps the lock file for users' packages."""

from __future__ import annotations

import re
import subprocess

from deploy_support import DOCKER, tool


def test_the_jobs_image_is_hadolint_clean_slim_non_root_and_keeps_the_pins() -> None:
    path = DOCKER / "jobs.Dockerfile"
    result = subprocess.run(
        [tool("hadolint"), "--config", str(DOCKER / ".hadolint.yaml"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = path.read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert all(s.startswith("python:3.11-slim-bookworm") for s in stages)
    final = stages[-1]
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert "HEALTHCHECK" in final
    assert "/opt/folio/constraints.txt" in final
    assert 'CMD ["folio", "worker", "start", "jobs"]' in final
    ignore = (DOCKER / "jobs.Dockerfile.dockerignore").read_text().splitlines()
    assert "!clients/cli" in ignore
