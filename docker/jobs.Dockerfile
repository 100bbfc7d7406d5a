# syntax=docker/dockerfile:1.7
# Folio jobs image: the base for workers of your own job kinds. It holds the
# kernel (folio-shared: the SDK and the job engine) and the `folio` command;
# your image adds your package and names its module (docs/deployment.md,
# "Workers for your own job kinds"). Alone it serves the kinds of every
# installed `folio.jobs` entry point.
# Build from the repository root:
#   docker build -f docker/jobs.Dockerfile -t folio/jobs .

# ---- build: a virtualenv with Folio and its pinned dependencies ----------
FROM python:3.11-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Every Python dependency is pinned by the lock file, kept in the image so
# that users' packages are installed against the same pins.
COPY requirements/constraints.txt requirements/constraints.txt
COPY shared shared
COPY clients/cli clients/cli
COPY clients/python clients/python
RUN pip install -c requirements/constraints.txt ./shared ./clients/cli ./clients/python

# ---- runtime: no compilers, no pip cache, a non-root user ----------------
FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 folio \
 && useradd --system --uid 10001 --gid folio --home-dir /home/folio --create-home folio
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/requirements/constraints.txt /opt/folio/constraints.txt
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
CMD ["folio", "worker", "start", "jobs"]
