# syntax=docker/dockerfile:1.7
# Folio worker-ocr image: page rendering and Tesseract OCR (English, Portuguese,
# orientation data) through tesserocr.
# Build from the repository root:
#   docker build -f docker/worker-ocr.Dockerfile -t folio/worker-ocr .

# ---- build: a virtualenv with Folio and its pinned dependencies ----------
FROM python:3.11-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Debian packages follow the bookworm point release of the base image
# (security updates), so their versions are not pinned (hadolint DL3008 is
# ignored in docker/.hadolint.yaml); Python packages are pinned.
# tesserocr compiles against Tesseract's headers: build stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtesseract-dev libleptonica-dev pkg-config g++ \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every Python dependency is pinned by the lock file.
COPY requirements/constraints.txt requirements/constraints.txt
COPY shared shared
COPY services/worker-ocr services/worker-ocr
RUN pip install -c requirements/constraints.txt ./shared ./services/worker-ocr

# ---- runtime: no compilers, no pip cache, a non-root user ----------------
FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libtesseract5 tesseract-ocr tesseract-ocr-eng tesseract-ocr-por tesseract-ocr-osd libmagic1 \
      libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 folio \
 && useradd --system --uid 10001 --gid folio --home-dir /home/folio --create-home folio
COPY --from=build /opt/venv /opt/venv
COPY docker/healthcheck.py /opt/folio/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FOLIO_HOME=/tmp/folio
WORKDIR /home/folio
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "/opt/folio/healthcheck.py", "worker"]
# Dramatiq finishes running jobs on SIGTERM (FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS).
STOPSIGNAL SIGTERM
CMD ["folio-worker-ocr"]
