"""F8 Medication-resistant pain (CLINICAL_RULES.md F8, Readings 9, 14, 20; a design proxy, no guideline).

When: the most recent active back-pain onset is within 365 days of T, and among analgesics ordered from that
onset minus 7 days up to T, either the first opioid order starts at least 7 days after the first non-opioid
order (a combination product counts as an opioid), or a third analgesic class starts at least 7 days after the
first class (Revision 2 item 32). A switch between an NSAID and paracetamol, or adding a neuropathic agent to
one other class, is not escalation.
Then: escalating analgesia is a red flag for pain that does not respond to usual treatment. The evidence is
the later order (what was started, how long after which class) and the earlier one it escalated from.
"""

from __future__ import annotations

from datetime import datetime

from service.facts import PatientFacts
from service.fhir.dates import days_between
from service.knowledge import Knowledge
from service.rules.analgesics import LABELS, Classes, classify_all
from service.rules.back_pain import BackPain
from service.rules.base import Evidence, Finding, days_text, unavailable
from service.rules.treatment import episode_onset

KEYS = ["medicationRequests", "medicationStatements"]


def medication_resistance(
    facts: PatientFacts, k: Knowledge, now: datetime, bp: BackPain, classes: Classes | None = None
) -> Finding:
    """F8; ``classes`` is :func:`classify_all` of the medications when the caller already has it."""
    onset = episode_onset("F8", bp, k, now)
    if isinstance(onset, Finding):
        return onset
    cfg = k.config.medication_resistance
    first: dict[str, Evidence] = {}
    for hit in classify_all(facts.medications, k) if classes is None else classes:
        if hit is None or hit[1].date is None or hit[1].date.at > now:
            continue
        if days_between(onset, hit[1].date.at) < -cfg.onset_allowance_days:
            continue
        name, ev = hit
        if name not in first or (ev.date, ev.ref) < (first[name].date, first[name].ref):
            first[name] = ev
    ordered = sorted(first.items(), key=lambda item: (item[1].date, item[1].ref))
    if len(ordered) < 2:
        return Finding("F8", False, missing=unavailable(KEYS, facts.unavailable))
    (first_name, first_ev) = ordered[0]
    assert first_ev.date is not None
    opioid = first.get("opioid")
    non_opioid = [(n, e) for n, e in ordered if n != "opioid"]
    candidates: list[tuple[str, Evidence, str, Evidence]] = []
    if opioid is not None and non_opioid:
        candidates.append(("opioid", opioid, *non_opioid[0]))
    if len(ordered) >= 3:
        candidates.append((*ordered[2], first_name, first_ev))
    for name, ev, base_name, base_ev in candidates:
        assert ev.date is not None and base_ev.date is not None
        gap_days = days_between(base_ev.date, ev.date.at)
        if gap_days >= cfg.escalation_days:
            observed = (
                f"{LABELS[name]} {days_text(gap_days)} after {LABELS[base_name]} ({base_ev.date.iso_day()})"
            )
            escalation = Evidence(
                ref=ev.ref,
                date=ev.date,
                what=ev.what,
                value_set=ev.value_set,
                code=ev.code,
                observed=observed,
                threshold=f">= {cfg.escalation_days} days",
                text_match=ev.text_match,
                by_keyword=ev.by_keyword,
            )
            # The earlier analgesic is cited too, so that its order is in the card's Sources line.
            earlier = base_ev._replace(source_only=True)
            return Finding("F8", True, (escalation, earlier), unavailable(KEYS, facts.unavailable))
    return Finding("F8", False, missing=unavailable(KEYS, facts.unavailable))
