"""``backpain-cds load-fixtures``: put the fixture patients on a FHIR server, keeping their ids.

For sandbox testing: afterwards the CDS Hooks sandbox (or ``backpain-cds evaluate --fhir-server``)
can open any fixture patient by id on that server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from service.errors import FhirAccessError
from service.fhir.client import FhirServer
from service.fhir.upload import put_resources
from service.record import Resource
from service.settings import REPO_ROOT

DEFAULT_CASES = REPO_ROOT / "fixtures" / "cases"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("load-fixtures", help="load the fixture patients into a FHIR server")
    parser.add_argument("--fhir-server", required=True, help="FHIR base URL, e.g. http://localhost:8103/fhir/R4")
    parser.add_argument("--token", help="bearer token for the FHIR server (never printed)")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="folder of <case>/bundle.json")
    parser.set_defaults(func=run)


def bundle_resources(path: Path) -> list[Resource]:
    """The resources of one fixture Bundle; each must carry its own id (ids are what cases refer to)."""
    bundle: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError(f"{path} is not a FHIR Bundle")
    return [e["resource"] for e in bundle.get("entry") or () if isinstance(e, dict) and "resource" in e]


def fixture_resources(cases: Path) -> list[Resource]:
    """Every resource of every case, once (cases may share resources such as a practitioner)."""
    unique: dict[tuple[str, str], Resource] = {}
    for path in sorted(cases.glob("*/bundle.json")):
        for resource in bundle_resources(path):
            unique[(str(resource.get("resourceType")), str(resource.get("id")))] = resource
    return list(unique.values())


async def load(fhir_server: str, token: str | None, cases: Path) -> int:
    resources = fixture_resources(cases)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        return await put_resources(http, FhirServer(fhir_server.rstrip("/"), token), resources)


def run(args: argparse.Namespace) -> int:
    try:
        count = asyncio.run(load(args.fhir_server, args.token, args.cases))
    except (FhirAccessError, ValueError, OSError) as exc:
        print(f"load-fixtures failed: {exc}")
        return 1
    if count == 0:
        print(f"no fixture bundles found under {args.cases}")
        return 1
    print(f"loaded {count} resources from {args.cases} into {args.fhir_server}")
    return 0
