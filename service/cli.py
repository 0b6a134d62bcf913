"""The ``backpain-cds`` command line: one subcommand per module in ``service.commands``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from service.commands import bench, evaluate, load_fixtures, migrate, report, serve

COMMANDS = [serve, migrate, bench, load_fixtures, evaluate, report]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backpain-cds", description="Back-pain red-flag CDS: a CDS Hooks service for the patient-view hook."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
