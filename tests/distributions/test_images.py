"""The images, the manifests and the distributions agree.

Each Dockerfile copies and installs exactly the local folders of the
distributions its image runs (the service, its kernel, for the API the
``folio`` command line its init container runs, with everything that needs,
and for the jobs image the command line that starts users' workers), its ``.dockerignore``
sends exactly those, the worker-docs image's cached embedding layer installs
packages worker-docs itself declares, at the lock file's versions, and
every Folio command a manifest runs is a console script of an installed
distribution.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from dist_support import CONSTRAINTS, PARTS, ROOT, declared, local_parts
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DOCKER = ROOT / "docker"
#: image → the Folio distributions it runs.
IMAGES = {
    "api": ("folio-api", "folio-cli"),
    "worker-docs": ("folio-worker-docs",),
    "worker-ocr": ("folio-worker-ocr",),
    "scheduler": ("folio-scheduler",),
    # the base of users' job-kind workers: the kernel and `folio worker start`
    "jobs": ("folio-cli",),
}
#: Files every image's build context sends besides the project folders.
CONTEXT_FILES = {"requirements/constraints.txt", "docker/healthcheck.py"}


def folders(image: str) -> set[str]:
    """The project folders the image's distributions install."""
    return {part.folder for name in IMAGES[image] for part in local_parts(name)}


def _dockerfile(image: str) -> str:
    return (DOCKER / f"{image}.Dockerfile").read_text()


def _pip_installs(text: str) -> list[list[str]]:
    """The arguments of every ``pip install`` (continued lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    commands = re.findall(r"pip install ([^&\n]*)", joined)
    return [c.split() for c in commands]


def pins() -> dict[str, str]:
    """The lock file: canonical name → version."""
    out: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            out[canonicalize_name(name.split("[")[0])] = version.split()[0]
    return out


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_each_image_copies_and_installs_its_distributions_folders(image: str) -> None:
    text = _dockerfile(image)
    copied = {m[0] for m in re.findall(r"^COPY (\S+) (\S+)$", text, re.MULTILINE) if m[0] == m[1]}
    installed = {
        arg.removeprefix("./").rstrip("/")
        for args in _pip_installs(text)
        for arg in args
        if arg.startswith("./")
    }
    assert installed == folders(image)
    assert copied - CONTEXT_FILES == folders(image)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_each_build_context_sends_exactly_what_the_image_installs(image: str) -> None:
    ignore = (DOCKER / f"{image}.Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"
    sent = {line[1:] for line in ignore if line.startswith("!")}
    assert sent - CONTEXT_FILES == folders(image)


def test_worker_docs_caches_its_own_embedding_stack_at_the_locked_versions() -> None:
    text = _dockerfile("worker-docs")
    before_sources = text[: text.index("COPY shared shared")]
    preinstalled = [
        Requirement(arg) for args in _pip_installs(before_sources) for arg in args if "==" in arg
    ]
    assert {r.name for r in preinstalled} >= {"torch", "sentence-transformers"}
    own = {canonicalize_name(r.name): r for r in PARTS["folio-worker-docs"].requirements()}
    locked = pins()
    for req in preinstalled:
        name = canonicalize_name(req.name)
        assert name in declared("folio-worker-docs"), f"{name} is not worker-docs' own"
        (version,) = (s.version for s in req.specifier)
        if name == "torch":  # pinned where it is installed, not in the lock
            assert str(own[name].specifier) == f"=={version}"
            assert f"TORCH_VERSION ?= {version}" in (ROOT / "Makefile").read_text()
        else:
            assert locked[name] == version, name
            assert own[name].specifier.contains(version), name


def _containers(doc: Any) -> list[dict[str, Any]]:
    spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _scripts(names: tuple[str, ...]) -> set[str]:
    return {s for name in names for part in local_parts(name) for s in part.scripts()}


def test_every_folio_command_a_manifest_runs_is_installed_in_its_image() -> None:
    runs: list[tuple[str, str, str]] = []  # (where, image, command)
    for path in sorted((ROOT / "k8s").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for c in _containers(doc):
                image = str(c.get("image", "")).removeprefix("folio-")
                if image in IMAGES and c.get("command"):
                    runs.append((f"{path.name}:{c['name']}", image, c["command"][0]))
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        match = re.fullmatch(r"folio/([a-z-]+):\w+", str(service.get("image", "")))
        if match and service.get("command"):
            runs.append((f"compose.yaml:{name}", match[1], service["command"][0]))
    assert ("api.yaml:migrate", "api", "folio") in runs
    for where, image, command in runs:
        if command.startswith("folio"):
            assert command in _scripts(IMAGES[image]), f"{where} runs {command}"


def test_the_helpers_read_the_closure_and_continued_lines() -> None:
    assert folders("api") == {"shared", "services/api", "clients/cli", "clients/python"}
    assert folders("scheduler") == {"shared", "services/scheduler"}
    assert _pip_installs("RUN pip install -c c.txt ./a \\\n   ./b && echo") == [
        ["-c", "c.txt", "./a", "./b"]
    ]
