"""``backpain-cds migrate``: bring the database schema to the newest (or a given) revision.

The service also migrates at start-up; this command lets a deployment do it once, as a separate step
(a Kubernetes init container or job), before rolling out new replicas.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("migrate", help="apply database schema migrations")
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.add_argument(
        "--database-url", default=None, help="SQLAlchemy URL (default: BACKPAIN_CDS_DATABASE_URL)"
    )
    parser.add_argument("--show", action="store_true", help="only print the current and head revisions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from service.settings import get_settings
    from service.storage.db import make_engine
    from service.storage.migrate import current_revision, head_revision, upgrade

    engine = make_engine(args.database_url or get_settings().database_url)
    try:
        if not args.show:
            upgrade(engine, args.revision)
        print(f"current: {current_revision(engine) or '(empty)'}  head: {head_revision()}")
    finally:
        engine.dispose()
    return 0
