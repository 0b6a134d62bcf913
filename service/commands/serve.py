"""``backpain-cds serve``: check everything a worker needs, then run the service under uvicorn."""

from __future__ import annotations

import argparse
import subprocess
import sys
from contextlib import suppress

from service.metrics_dir import MetricsDirError, prepare_metrics_dir

SERVICE_APP = "service.main:create_app"
MIGRATE_TIMEOUT_SECONDS = 600.0


def migrate_in_child(database_url: str) -> None:
    """Bring the schema to head in a short-lived process, so the workers never import Alembic.

    Nothing is started when one query finds the schema at head already (every restart but the first of a
    version; the child costs ~1 s).

    Alembic and Mako would stay in each worker's memory (~10 MiB) for its life; a worker that finds the
    schema at head skips them (:func:`service.storage.migrate.ensure_schema`). If the child fails, each
    worker migrates itself at start-up as before and reports the problem in its usual way.
    """
    if schema_at_head(database_url):
        return
    try:
        done = subprocess.run([sys.executable, "-m", "service", "migrate"], capture_output=True,
                              timeout=MIGRATE_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"backpain-cds: schema migration before start failed ({type(exc).__name__}); the workers will "
              "migrate", file=sys.stderr, flush=True)
        return
    if done.returncode != 0:
        print(f"backpain-cds: schema migration before start exited {done.returncode}; the workers will migrate",
              file=sys.stderr, flush=True)


def schema_at_head(database_url: str) -> bool:
    """True when the database already has the newest schema (one query, no Alembic). Any failure says no
    and leaves it to the child."""
    from service.storage.db import make_engine
    from service.storage.migrate import at_head

    try:
        engine = make_engine(database_url)
    except Exception:  # the child and then the workers report a database problem their usual way
        return False
    try:
        return at_head(engine)
    except Exception:
        return False
    finally:
        engine.dispose()


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
    from service.commands.errors import EXIT_USAGE, CommandError
    from service.startup import check_startup

    if args.workers < 1:
        raise CommandError("--workers must be at least 1", code=EXIT_USAGE)
    # Before anything imports service.metrics here: with one worker this process is the worker. A folder that
    # cannot be made is reported by check_startup with the other problems.
    with suppress(MetricsDirError):
        prepare_metrics_dir(args.workers)
    settings = check_startup(args.host, args.port, keep_knowledge=args.workers == 1)
    migrate_in_child(settings.database_url)
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
