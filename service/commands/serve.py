"""``backpain-cds serve``: run the service under uvicorn."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

SERVICE_APP = "service.main:create_app"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the CDS Hooks service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning", help="uvicorn's own log level")
    parser.set_defaults(func=run)


def prepare_metrics_dir(workers: int) -> None:
    """Give the workers a shared, empty directory for their metric files (prometheus-client multiprocess).

    Files left by an earlier run would be added to this run's counters, so they are removed first.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        if workers <= 1:
            return
        path = tempfile.mkdtemp(prefix="backpain-cds-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink()


def run_app(app: str, host: str, port: int, workers: int = 1, log_level: str = "warning") -> None:
    """Serve the factory ``app`` with the service's uvicorn settings (the benchmark's floor uses them too).

    HTTP limits (issue 16): headers over ``http_max_header_bytes`` get 431 and headers not received
    within ``http_header_timeout_seconds`` get 408 (both in :mod:`service.http_protocol`, which
    uvicorn lacks); idle keep-alive connections close after ``http_keep_alive_seconds``; past
    ``http_max_connections`` per worker uvicorn answers 503; ``http_backlog`` bounds the accept queue.
    """
    import uvicorn

    from service.http_protocol import LimitedHttpToolsProtocol
    from service.settings import get_settings

    settings = get_settings()
    prepare_metrics_dir(workers)
    uvicorn.run(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        proxy_headers=True,
        http=LimitedHttpToolsProtocol,  # a module-level class: pickled by name into each worker
        timeout_keep_alive=settings.http_keep_alive_seconds,  # type: ignore[arg-type]
        limit_concurrency=settings.http_max_connections,
        backlog=settings.http_backlog,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
    )


def run(args: argparse.Namespace) -> int:
    run_app(SERVICE_APP, args.host, args.port, args.workers, args.log_level)
    return 0
