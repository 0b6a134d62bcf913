"""``backpain-cds evaluate``: the card a clinician would see for one patient, in the terminal.

The data comes from a Bundle file (sent as a complete prefetch) or from a FHIR server (no prefetch,
so the service reads everything itself, exactly as when an EHR sends only ``fhirServer``).

"Today" is ``--as-of`` when given; else, for a fixture case's ``bundle.json``, the case's frozen date
(``asOf`` of the ``case.json`` beside it, with its site ``overrides``), since its dates are written for
that day; else now. The date used is always printed (on stderr with ``--json``, so stdout stays JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.commands.errors import EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from rich.table import Table

    from service.cdshooks.models import HookRequest
    from service.engine import Evaluation
    from service.knowledge import Knowledge
    from service.record import PatientRecord
    from service.settings import Settings


def as_of_value(text: str) -> datetime:
    """``--as-of``: an ISO date or date-time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r} (e.g. 2026-03-15T10:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("evaluate", help="print the card for one patient")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--bundle", type=Path, help="FHIR Bundle with the patient's data")
    source.add_argument("--fhir-server", help="FHIR base URL to read the patient from")
    parser.add_argument("--patient", help="patient id (required with --fhir-server; default: the Bundle's Patient)")
    parser.add_argument("--token", help="bearer token for --fhir-server (never printed)")
    parser.add_argument(
        "--as-of", type=as_of_value,
        help="evaluate as of this date/time (default: a fixture case's frozen date, else now)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class When:
    """The evaluation's "today" and where it came from (printed with the result)."""

    at: datetime
    source: str
    overrides: dict[str, Any] | None = None


def fixture_case_meta(bundle: Path) -> dict[str, Any] | None:
    """``case.json`` beside a fixture ``bundle.json``, when there is one with an ``asOf``."""
    meta_path = bundle.parent / "case.json"
    if bundle.name != "bundle.json" or not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{meta_path} cannot be read: {exc}") from exc
    return meta if isinstance(meta, dict) and isinstance(meta.get("asOf"), str) else None


def choose_when(args: argparse.Namespace, now: datetime) -> When:
    meta = fixture_case_meta(args.bundle) if args.bundle is not None else None
    overrides = meta.get("overrides") if meta else None
    if args.as_of is not None:
        return When(args.as_of, "--as-of", overrides)
    if meta is not None:
        try:
            at = as_of_value(meta["asOf"])
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"{args.bundle.parent / 'case.json'}: asOf is {exc}") from exc
        return When(at, f"frozen date of fixture case {args.bundle.parent.name}", overrides)
    return When(now, "now")


def _request(args: argparse.Namespace, knowledge: Knowledge) -> HookRequest:
    from service.cdshooks.models import HookRequest
    from service.commands.bundle_prefetch import prefetch_from_bundle, resolve_references
    from service.commands.load_fixtures import read_bundle

    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": "cli-evaluate"}
    if args.bundle is not None:
        try:
            # urn:uuid references (Synthea, transaction exports) resolved as a FHIR server would store them
            resources = resolve_references(read_bundle(args.bundle))
        except ValueError as exc:  # not JSON, or not a Bundle
            raise CommandError(f"{args.bundle}: {exc}") from exc
        patient_id = args.patient or next((r["id"] for r in resources if r.get("resourceType") == "Patient"), None)
        if not patient_id:
            raise CommandError("the Bundle has no Patient; name one with --patient", code=EXIT_USAGE)
        body["context"] = {"userId": "Practitioner/cli", "patientId": patient_id}
        context = HookRequest.model_validate(body).context
        body["prefetch"] = prefetch_from_bundle(resources, knowledge.service, context)
    else:
        if not args.patient:
            raise CommandError("--patient is required with --fhir-server", code=EXIT_USAGE)
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


async def run_once(
    args: argparse.Namespace, settings: Settings, when: When
) -> tuple[PatientRecord, Evaluation, Table | None]:
    from service.engine import evaluate
    from service.fhir.client import FhirClient
    from service.fhir.transport import FhirHttp
    from service.gather import gather
    from service.knowledge import load_knowledge

    knowledge = load_knowledge(settings.knowledge_dir, when.overrides)
    request = _request(args, knowledge)
    if args.fhir_server and not settings.fhir_server_allowlist:
        # The operator named the server on the command line: that is the allowlist of this run.
        settings = settings.model_copy(update={"fhir_server_allowlist": [args.fhir_server]})
    async with FhirHttp.from_settings(settings) as http:
        client = FhirClient.for_invocation(http, settings)
        record = await gather(request, knowledge.service, settings, client, when.at)
    result = evaluate(record, knowledge, when.at, request.hook_instance)
    return record, result, _evidence(record, knowledge, when.at)


def _evidence(record: PatientRecord, knowledge: Knowledge, now: datetime) -> Table | None:
    """Re-run the assessment only to show its evidence; the card itself comes from ``evaluate``."""
    from service.assessment import assess
    from service.commands.card_view import evidence_table
    from service.facts import build_facts

    types = {key: spec.resource_type for key, spec in knowledge.service.prefetch.items()}
    assessment = assess(build_facts(record, types, now, text=knowledge.text), knowledge, now)
    return evidence_table(assessment.findings.values(), knowledge.cards.flag_labels)


def date_line(when: When) -> str:
    site = f"; site settings from case.json: {', '.join(sorted(when.overrides))}" if when.overrides else ""
    return f"Evaluated as of {when.at.isoformat(timespec='seconds')} ({when.source}{site})"


def run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from service.cdshooks.models import HookResponse, dump_clean
    from service.clock import system_clock
    from service.commands.card_view import show
    from service.logging import configure_logging
    from service.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)  # to stderr: stdout is the result
    when = choose_when(args, system_clock())
    record, result, evidence = asyncio.run(run_once(args, settings, when))
    if not record.of("patient"):  # the service treats this as "no data"; a person at a terminal made a typo
        raise CommandError(f"patient {record.patient_id!r} was not found")
    if args.json:
        print(date_line(when), file=sys.stderr)
        print(json.dumps(dump_clean(HookResponse(cards=result.cards)), indent=2))
    else:
        console = Console()
        console.print(date_line(when), soft_wrap=True)
        show(result.cards, result.tier, record.unavailable, console, evidence)
    return 0
