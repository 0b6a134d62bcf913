# Production image: wheels are built in a throw-away stage, the final image has no compiler and no tests.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BACKPAIN_CDS_KNOWLEDGE_DIR=/app/cards \
    BACKPAIN_CDS_DATABASE_URL=sqlite:////data/backpain-cds.db \
    WORKERS=2
RUN useradd --system --uid 10001 --no-create-home --home-dir /app cds \
    && mkdir -p /app /data && chown cds /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY cards /app/cards
USER cds
WORKDIR /app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
CMD ["sh", "-c", "exec backpain-cds serve --host 0.0.0.0 --port 8080 --workers ${WORKERS}"]
