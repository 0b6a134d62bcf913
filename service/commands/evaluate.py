"""``backpain-cds evaluate``: the card a clinician would see for one patient, in the terminal.

The data comes from a Bundle file (sent as a complete prefetch) or from a FHIR server (no prefetch,
so the service reads everything itself, exactly as when an EHR sends only ``fhirServer``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from service.assessment import assess
from service.cdshooks.models import HookRequest, HookResponse, dump_clean
from service.clock import frozen_clock, system_clock
from service.commands.bundle_prefetch import prefetch_from_bundle
from service.commands.card_view import evidence_table, show
from service.commands.load_fixtures import bundle_resources
from service.engine import Evaluation, evaluate
from service.errors import ServiceError
from service.facts import build_facts
from service.fhir.client import FhirClient
from service.gather import gather
from service.knowledge import Knowledge, load_knowledge
from service.record import PatientRecord
from service.settings import Settings, get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("evaluate", help="print the card for one patient")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", type=Path, help="FHIR Bundle with the patient's data")
    source.add_argument("--fhir-server", help="FHIR base URL to read the patient from")
    parser.add_argument("--patient", help="patient id (required with --fhir-server; default: the Bundle's Patient)")
    parser.add_argument("--token", help="bearer token for --fhir-server (never printed)")
    parser.add_argument("--as-of", type=datetime.fromisoformat, help="evaluate as of this date/time, not now")
    parser.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    parser.set_defaults(func=run)


def _request(args: argparse.Namespace, settings: Settings) -> HookRequest:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": "cli-evaluate"}
    if args.bundle is not None:
        resources = bundle_resources(args.bundle)
        patient_id = args.patient or next((r["id"] for r in resources if r.get("resourceType") == "Patient"), None)
        if not patient_id:
            raise ValueError("the Bundle has no Patient; name one with --patient")
        body["context"] = {"userId": "Practitioner/cli", "patientId": patient_id}
        context = HookRequest.model_validate(body).context
        body["prefetch"] = prefetch_from_bundle(resources, load_knowledge(settings.knowledge_dir).service, context)
    else:
        if not args.patient:
            raise ValueError("--patient is required with --fhir-server")
        body["context"] = {"userId": "Practitioner/cli", "patientId": args.patient}
        body["fhirServer"] = args.fhir_server
        if args.token:
            body["fhirAuthorization"] = {
                "access_token": args.token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "user/*.read",
                "subject": "backpain-cds-cli",
            }
    return HookRequest.model_validate(body)


async def run_once(args: argparse.Namespace, settings: Settings) -> tuple[PatientRecord, Evaluation, Table | None]:
    knowledge = load_knowledge(settings.knowledge_dir)
    request = _request(args, settings)
    now = (frozen_clock(args.as_of) if args.as_of else system_clock)()
    timeout = httpx.Timeout(settings.fhir_read_timeout_seconds, connect=settings.fhir_connect_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
        client = FhirClient(http, page_cap=settings.fhir_page_cap)
        record = await gather(request, knowledge.service, settings, client, now)
    result = evaluate(record, knowledge, now, request.hook_instance)
    return record, result, _evidence(record, knowledge, now)


def _evidence(record: PatientRecord, knowledge: Knowledge, now: datetime) -> Table | None:
    """Re-run the assessment only to show its evidence; the card itself comes from ``evaluate``."""
    types = {key: spec.resource_type for key, spec in knowledge.service.prefetch.items()}
    assessment = assess(build_facts(record, types, now, text=knowledge.text), knowledge, now)
    return evidence_table(assessment.findings.values(), knowledge.cards.flag_labels)


def run(args: argparse.Namespace) -> int:
    console = Console()
    try:
        record, result, evidence = asyncio.run(run_once(args, get_settings()))
    except (ServiceError, ValueError, OSError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        console.print(f"Cannot evaluate: {message}", style="bold red")
        return 1
    if not record.of("patient"):  # the service treats this as "no data"; a person at a terminal made a typo
        console.print(f"Cannot evaluate: patient {record.patient_id!r} was not found", style="bold red")
        return 1
    if args.json:
        print(json.dumps(dump_clean(HookResponse(cards=result.cards)), indent=2))
    else:
        show(result.cards, result.tier, record.unavailable, console, evidence)
    return 0
