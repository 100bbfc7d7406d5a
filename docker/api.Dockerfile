# syntax=docker/dockerfile:1.7
# Folio API image: Litestar on uvicorn, `folio migrate`; no PyTorch, no Tesseract.
# Build from the repository root:
#   docker build -f docker/api.Dockerfile -t folio/api .

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
COPY shared shared
COPY services/api services/api
# The `folio` command line, for `folio migrate` (the init container) and admin
# commands, with the Python client its commands for people talk to the API with.
COPY clients/cli clients/cli
COPY clients/python clients/python
RUN pip install -c requirements/constraints.txt ./shared ./services/api ./clients/cli ./clients/python

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
COPY docker/healthcheck.py /opt/folio/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FOLIO_HOME=/tmp/folio \
    FOLIO_API_HOST=0.0.0.0 \
    FOLIO_API_PORT=8000
WORKDIR /home/folio
USER 10001:10001
EXPOSE 8000 9191
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/opt/folio/healthcheck.py", "http", "http://127.0.0.1:8000/healthz"]
CMD ["folio-api"]
