"""Prometheus metrics: the collectors and the few functions the rest of the service calls to feed them.

Every label has a bounded set of values (route templates, not raw paths; JWT reasons mapped to a fixed
list), so a caller cannot grow the series count. With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR``
(set by ``backpain-cds serve`` or the deployment; created when missing, see ``service.metrics_dir``) makes
each worker write its values to a file there and ``/metrics`` aggregates them, whichever worker answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from service.metrics_dir import ensure_metrics_dir

# Before prometheus_client is imported: in multiprocess mode it opens files in this folder from the first
# collector on.
ensure_metrics_dir()

from prometheus_client import (  # noqa: E402 (the folder must exist first)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

REQUESTS = Counter("backpain_cds_requests", "HTTP requests by route template and status", ["endpoint", "status"])
REQUEST_SECONDS = Histogram(
    "backpain_cds_request_seconds", "Time to answer an HTTP request", ["endpoint"], buckets=_LATENCY_BUCKETS
)
CARDS = Counter("backpain_cds_cards", "Cards returned, by urgency tier", ["tier"])
FHIR_SECONDS = Histogram(
    "backpain_cds_fhir_request_seconds", "Time of one FHIR callback to the EHR", ["resource"],
    buckets=_LATENCY_BUCKETS,
)
FHIR_ERRORS = Counter("backpain_cds_fhir_errors", "FHIR callbacks that failed, by reason", ["reason"])
JWT_REJECTIONS = Counter("backpain_cds_jwt_rejections", "Client JWTs refused, by reason", ["reason"])
FEEDBACK = Counter("backpain_cds_feedback", "Feedback items received, by outcome", ["outcome"])
FOREIGN_RESOURCES = Counter(
    "backpain_cds_foreign_resources_dropped",
    "Resources not naming the patient in context, dropped before the rules, by type and reason",
    ["resource", "reason"],
)
FEEDBACK_DUPLICATES = Counter("backpain_cds_feedback_duplicates", "Feedback items already stored (J4)")
# Closed loop (issue 18): what happens to the cards, by tier. Tier labels come from cards/ (bounded).
CARD_OUTCOMES = Counter(
    "backpain_cds_card_outcomes", "Feedback items by the tier of the card they answer and outcome", ["tier", "outcome"]
)
CARDS_SNOOZED = Counter("backpain_cds_cards_snoozed", "Cards held back because a snooze was in force", ["tier"])
CARD_RECORD_FAILURES = Counter(
    "backpain_cds_card_record_failures", "Card records or snooze look-ups that failed in the database"
)

# First matching keyword wins; the authenticator's reasons are free text and may quote the token.
_JWT_REASONS: tuple[tuple[str, str], ...] = (
    ("replay", "replay"),
    ("no authorization header", "missing"),
    ("malformed", "malformed"),
    ("bearer", "malformed"),
    ("too long", "malformed"),
    ("algorithm", "algorithm"),
    ("expired", "expired"),
    ("immature", "not_yet_valid"),
    ("signature", "signature"),
    ("lifetime", "lifetime"),
    ("audience", "audience"),
    ("aud", "audience"),
    ("jku", "keys"),
    ("jwk", "keys"),
    ("key", "keys"),
    ("typ", "header"),
    ("crit", "header"),
    ("kid", "header"),
    ("iss", "issuer"),
    ("tenant", "tenant"),
    ("claim", "claims"),
    ("jti", "claims"),
    ("exp", "claims"),
)
JWT_REASONS = frozenset(label for _, label in _JWT_REASONS) | {"other"}
FHIR_ERROR_REASONS = frozenset({"timeout", "connect", "status", "invalid", "deadline", "other"})
OUTCOMES = frozenset({"accepted", "overridden"})


# Label children of the per-request series, looked up once per label tuple: ``.labels()`` costs a lock, string
# conversions and a dict look-up on every call. Bounded like the labels themselves (route templates x statuses,
# tiers from cards/).
_REQUEST_CHILDREN: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
_CARD_CHILDREN: dict[str | None, Counter] = {}


def observe_request(endpoint: str, status: int, seconds: float, tier: str | None, cards: int | None) -> None:
    """One finished HTTP request (called by the access-log middleware)."""
    children = _REQUEST_CHILDREN.get((endpoint, status))
    if children is None:
        children = _REQUEST_CHILDREN[(endpoint, status)] = (
            REQUESTS.labels(endpoint, str(status)), REQUEST_SECONDS.labels(endpoint)
        )
    children[0].inc()
    children[1].observe(seconds)
    if cards:
        child = _CARD_CHILDREN.get(tier)
        if child is None:
            child = _CARD_CHILDREN[tier] = CARDS.labels(tier or "none")
        child.inc(cards)


def observe_fhir(resource: str, seconds: float, error: str | None = None) -> None:
    """One FHIR callback: its latency; ``error`` is one of ``FHIR_ERROR_REASONS`` when it failed."""
    FHIR_SECONDS.labels(resource).observe(seconds)
    if error is not None:
        FHIR_ERRORS.labels(error if error in FHIR_ERROR_REASONS else "other").inc()


FOREIGN_TYPES = frozenset(
    {"Patient", "Condition", "Observation", "MedicationRequest", "MedicationStatement", "Procedure",
     "ServiceRequest", "DiagnosticReport", "CarePlan", "ImagingStudy", "DocumentReference"}
)
FOREIGN_REASONS = frozenset({"other_patient", "no_patient_reference"})


def drop_foreign(counts: Mapping[tuple[str, str], int]) -> None:
    """Resources dropped because they do not name the context patient, as (resourceType, reason) counts."""
    for (resource, reason), count in counts.items():
        FOREIGN_RESOURCES.labels(
            resource if resource in FOREIGN_TYPES else "other", reason if reason in FOREIGN_REASONS else "other"
        ).inc(count)


def jwt_reason(reason: str) -> str:
    """A bounded label for a rejection reason, whether given as a label or as a log sentence."""
    text = reason.lower()
    if text in JWT_REASONS:
        return text
    return next((label for keyword, label in _JWT_REASONS if keyword in text), "other")


def reject_jwt(reason: str) -> None:
    """One refused client JWT."""
    JWT_REJECTIONS.labels(jwt_reason(reason)).inc()


def record_feedback(outcomes: list[str], new: int) -> None:
    """Feedback items of one POST by outcome, and how many of them were duplicates."""
    for outcome in outcomes:
        FEEDBACK.labels(outcome if outcome in OUTCOMES else "other").inc()
    if len(outcomes) > new:
        FEEDBACK_DUPLICATES.inc(len(outcomes) - new)


def declare_tiers(tiers: list[str]) -> None:
    """Create every tier's series at zero, so "no card of tier X for an hour" is a 0, not a missing series."""
    for tier in tiers:
        CARDS.labels(tier)
        CARDS_SNOOZED.labels(tier)
        for outcome in OUTCOMES:
            CARD_OUTCOMES.labels(tier, outcome)


def record_card_outcomes(pairs: list[tuple[str | None, str]]) -> None:
    """Feedback items as (tier of the card or None when the card is not on record, outcome)."""
    for tier, outcome in pairs:
        CARD_OUTCOMES.labels(tier or "unknown", outcome if outcome in OUTCOMES else "other").inc()


def card_snoozed(tier: str) -> None:
    CARDS_SNOOZED.labels(tier).inc()


def card_record_failed() -> None:
    CARD_RECORD_FAILURES.inc()


def exposition() -> tuple[bytes, str]:
    """The text format for ``/metrics``: this process's registry, or every worker's files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
