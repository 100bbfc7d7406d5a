"""The worker-docs image's model files: ``folio-worker-docs-export-query-model``
(run by the image build) leaves the float32 ONNX export and its int8 copy in
``FOLIO_PIPELINE_MODEL_CACHE_DIR``, so a pod where ``auto`` picks int8 finds
both in the image's folder and makes neither at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from folio_worker_docs.embeddings import onnx
from folio_worker_docs.embeddings.model import Embedder
from tests.integration.pipeline.pipeline_helpers import unswitched

pytestmark = pytest.mark.integration


def test_the_image_build_leaves_the_int8_copy_a_pod_uses_as_it_is(
    embedder: Embedder, tmp_path: Path
) -> None:
    # Given the image build's command, run into an empty folder
    folder = tmp_path / "models"
    env = {**os.environ, "FOLIO_PIPELINE_MODEL_CACHE_DIR": str(folder), "HF_HUB_OFFLINE": "1"}
    code = "from folio_worker_docs.cli import export_query_model; export_query_model()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)
    made = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    version = embedder.model_version.replace("@", "-")
    assert sorted(made) == [version + onnx.INT8_SUFFIX, version + onnx.EXPORT_SUFFIX]

    # When a pod starts on that folder (the same model, nothing switched yet)
    model = unswitched(embedder)
    encoder = onnx.load_int8_encoder(model, model.encode_torch, cache_dir=folder)

    # Then it embeds with the image's copy, and nothing was written anew
    assert encoder is not None
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == made
