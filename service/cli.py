"""The ``backpain-cds`` command line: one subcommand per module in ``service.commands``.

Output goes to stdout, log lines and errors to stderr. An error is one plain line,
``backpain-cds <command>: error: <what>``, and the exit code says what kind (``service.commands.errors``).
Command modules import their heavy dependencies only when they run, so ``--help`` and a failing import of one
command never block another.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from service.commands import bench, evaluate, load_fixtures, migrate, report, serve
from service.commands.errors import EXIT_INTERRUPTED, EXIT_USAGE, describe

COMMANDS = [serve, migrate, bench, load_fixtures, evaluate, report]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line too (argparse prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="backpain-cds",
        description="Back-pain red-flag CDS: a CDS Hooks service for the patient-view hook.",
        epilog="Exit codes: 0 done; 1 the command failed (data, FHIR server or database unreachable); "
        "2 bad arguments, settings, clinical knowledge or revision, or serve refused to start.",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        code, message = describe(exc)
        print(f"backpain-cds {args.command}: error: {message}", file=sys.stderr)
        return code
    return result


if __name__ == "__main__":
    sys.exit(main())
