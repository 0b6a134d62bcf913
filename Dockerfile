# Production image. Wheels are built in a throw-away stage; the final image has no compiler, no pip cache,
# no tests and no fixtures (see .dockerignore), and runs as an unprivileged user.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# Settings come from the environment (BACKPAIN_CDS_*, see docs/deploy.md); these are the image's defaults.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BACKPAIN_CDS_PROFILE=production \
    BACKPAIN_CDS_KNOWLEDGE_DIR=/app/cards \
    BACKPAIN_CDS_DATABASE_URL=sqlite:////data/backpain-cds.db \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKERS=2
RUN useradd --system --uid 10001 --no-create-home --home-dir /app cds \
    && mkdir -p /app /data && chown cds /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-compile /wheels/*.whl && rm -rf /wheels
COPY cards /app/cards
USER 10001
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (the process answers); readiness (/readyz: database + knowledge) is for the orchestrator.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
# exec: uvicorn replaces the shell as PID 1, so it receives SIGTERM and drains requests before exiting.
CMD ["sh", "-c", "exec backpain-cds serve --host 0.0.0.0 --port 8080 --workers ${WORKERS}"]
