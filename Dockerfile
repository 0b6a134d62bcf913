# syntax=docker/dockerfile:1
# Production image. Wheels are built in a throw-away stage; the final image has no compiler, no pip cache and
# no tests (see .dockerignore), and runs as an unprivileged user. The clinical knowledge (cards/) and the
# fixture cases ship inside the wheel, as package data. tests/test_image.py parses this file and runs the
# final stage's ENV and CMD on an installed wheel (no Docker engine needed).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY service ./service
COPY cards ./cards
COPY fixtures ./fixtures
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Settings come from the environment (BACKPAIN_CDS_*, see docs/deploy.md); these are the image's defaults.
# PROMETHEUS_MULTIPROC_DIR need not exist: the service creates it (Kubernetes mounts an empty /tmp).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BACKPAIN_CDS_PROFILE=production \
    BACKPAIN_CDS_DATABASE_URL=sqlite:////data/backpain-cds.db \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKERS=2
RUN useradd --system --uid 10001 --no-create-home --home-dir /app cds \
    && mkdir -p /app /data && chown cds /data
# The wheels are bind-mounted for this one step, so they leave no layer behind. Byte code is compiled now,
# at build time: at run time the root file system may be read-only (PYTHONDONTWRITEBYTECODE).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl
USER 10001
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (the process answers); readiness (/readyz: database + knowledge) is for the orchestrator.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
# exec: uvicorn replaces the shell as PID 1, so it receives SIGTERM and drains requests before exiting.
CMD ["sh", "-c", "exec backpain-cds serve --host 0.0.0.0 --port 8080 --workers ${WORKERS}"]
