"""``backpain-cds load-fixtures``: put the fixture patients on a FHIR server, keeping their ids.

For sandbox testing: afterwards the CDS Hooks sandbox (or ``backpain-cds evaluate --fhir-server``)
can open any fixture patient by id on that server. By default every case's dates are moved so that its
frozen "today" (asOf) is today: a live service at the real clock then shows the documented card.
``--as-recorded`` keeps the dates as written (pair it with ``evaluate --as-of``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.commands.errors import CommandError
from service.paths import cases_dir

if TYPE_CHECKING:
    from service.record import Resource

# The FHIR client, httpx and the fixture catalogue are imported when the command runs: the CLI builds every
# command's parser, and ``serve`` or ``migrate`` must not pay for them at start-up.
DEFAULT_CASES = cases_dir()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("load-fixtures", help="load the fixture patients into a FHIR server")
    parser.add_argument("--fhir-server", required=True, help="FHIR base URL, e.g. http://localhost:8103/fhir/R4")
    parser.add_argument("--token", help="bearer token for the FHIR server (never printed)")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="folder of <case>/bundle.json")
    parser.add_argument("--as-recorded", action="store_true", help="keep the cases' dates, do not shift to today")
    parser.set_defaults(func=run)


def read_bundle(path: Path) -> dict[str, Any]:
    """A Bundle file as JSON; ``ValueError`` when it is not a FHIR Bundle."""
    bundle: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError(f"{path} is not a FHIR Bundle")
    return bundle



def fixture_resources(cases: Path, today: date | None) -> list[Resource]:
    """Every resource of every case, dates shifted to ``today`` unless it is ``None``."""
    from service.fixtures_catalog import list_cases

    unique: dict[tuple[str, str], Resource] = {}
    for case in list_cases(cases):
        for resource in case.resources_as_of(today) if today else case.resources():
            unique[(str(resource.get("resourceType")), str(resource.get("id")))] = resource
    return list(unique.values())


async def load(fhir_server: str, token: str | None, cases: Path, today: date | None = None) -> int:
    """PUT every fixture resource on ``fhir_server``; returns how many were written."""
    import httpx

    from service.fhir.client import FhirServer
    from service.fhir.upload import put_resources

    resources = fixture_resources(cases, today)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        return await put_resources(http, FhirServer(fhir_server.rstrip("/"), token), resources)


def run(args: argparse.Namespace) -> int:
    from service.clock import system_clock
    from service.errors import FhirAccessError

    try:
        today = None if args.as_recorded else system_clock().date()
        count = asyncio.run(load(args.fhir_server, args.token, args.cases, today))
    except (FhirAccessError, ValueError, OSError, KeyError) as exc:
        raise CommandError(f"load-fixtures failed: {exc}") from exc
    if count == 0:
        raise CommandError(f"no fixture bundles found under {args.cases}")
    print(f"loaded {count} resources from {args.cases} into {args.fhir_server}")
    return 0
