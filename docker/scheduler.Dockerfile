# syntax=docker/dockerfile:1.7
# Folio scheduler image: periodiq sending the periodic maintenance messages.
# Build from the repository root:
#   docker build -f docker/scheduler.Dockerfile -t folio/scheduler .

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
COPY services/scheduler services/scheduler
RUN pip install -c requirements/constraints.txt ./shared ./services/scheduler

# ---- runtime: no compilers, no pip cache, a non-root user ----------------
FROM python:3.11-slim-bookworm AS runtime
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
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/opt/folio/healthcheck.py", "process"]
CMD ["folio-scheduler"]
