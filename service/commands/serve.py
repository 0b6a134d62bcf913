"""``backpain-cds serve``: check everything a worker needs, then run the service under uvicorn."""

from __future__ import annotations

import argparse
import sys
from contextlib import suppress

from service.metrics_dir import MetricsDirError, prepare_metrics_dir

SERVICE_APP = "service.main:create_app"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the CDS Hooks service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning", help="uvicorn's own log level")
    parser.set_defaults(func=run)


def listen_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run_app(app: str, host: str, port: int, workers: int = 1, log_level: str = "warning") -> None:
    """Serve the factory ``app`` with the service's uvicorn settings (the benchmark's floor uses them too)."""
    import uvicorn

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
    )


def run(args: argparse.Namespace) -> int:
    from service.commands.errors import EXIT_USAGE, CommandError
    from service.startup import check_startup

    if args.workers < 1:
        raise CommandError("--workers must be at least 1", code=EXIT_USAGE)
    # Before anything imports service.metrics here: with one worker this process is the worker. A folder that
    # cannot be made is reported by check_startup with the other problems.
    with suppress(MetricsDirError):
        prepare_metrics_dir(args.workers)
    settings = check_startup(args.host, args.port)
    workers = f"{args.workers} worker{'s' if args.workers != 1 else ''}"
    everywhere = " (all interfaces)" if args.host in ("0.0.0.0", "::") else ""
    print(
        f"backpain-cds: listening on {listen_url(args.host, args.port)}{everywhere}, {workers}, "
        f"profile {settings.profile}, knowledge {settings.knowledge_dir}",
        file=sys.stderr,
        flush=True,
    )
    run_app(SERVICE_APP, args.host, args.port, args.workers, args.log_level)
    return 0
