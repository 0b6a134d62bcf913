"""CPU cost of the clinical text step per request with the benchmark's 10 clinical notes (~200 words each).

Usage: python scripts/text_cost.py [--requests N] [--engine]
Reads the notes of service/bench/notes.py (the body of ``backpain-cds bench --workloads notes``) in process and
prints CPU milliseconds (time.process_time) per request = reading all 10 notes, median and p90 over N requests,
for each path the pipeline has: ``full`` (every sentence through the whole spaCy pipeline), ``fast`` (only the
sentences that can hold a target, no cache), ``segments`` (``read`` on notes never seen before whose sentences
were: each request's notes get a new, target-free last line, so the note cache misses and the segment cache
hits, as for notes copied forward or built from templates) and ``cached`` (``read``: the same notes again; the
bench body repeats the same notes on every request, so this is what the bench sees, not what distinct patients
cost). Modes are interleaved request by request so that machine load hits them alike; compare the ratios.
``--engine`` also times a whole evaluation in process (prefetch to cards, no HTTP) of the bench's ``typical``
body and of its ``notes`` body (typical plus the 10 notes) with each path.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median, quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.bench.bodies import typical_body  # noqa: E402
from service.bench.notes import NOTES, note_text, notes_body  # noqa: E402
from service.engine import evaluate  # noqa: E402
from service.knowledge import Knowledge, load_knowledge  # noqa: E402
from service.record_assembly import record_from_prefetch  # noqa: E402
from service.text.pipeline import ClinicalText  # noqa: E402


def main(argv: list[str]) -> int:
    requests = int(argv[argv.index("--requests") + 1]) if "--requests" in argv else 40
    ct = load_knowledge(ROOT / "cards").text
    notes = [note_text(i) for i in range(NOTES)]
    modes: dict[str, Callable[[str], object]] = {"full": getattr(ct, "read_full", ct.read)}
    if hasattr(ct, "read_uncached"):
        modes["fast"] = ct.read_uncached
        modes["segments"] = ct.read
        modes["cached"] = ct.read
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(3):  # warm-up: lexemes, regex caches
        for read in modes.values():
            for note in notes:
                read(note)
    for n in range(requests):
        for name, read in modes.items():
            texts = [f"{note}\nRef {n}-{i}" for i, note in enumerate(notes)] if name == "segments" else notes
            start = time.process_time()
            for text in texts:
                read(text)
            times[name].append((time.process_time() - start) * 1000)
    words = sum(len(n.split()) for n in notes)
    print(f"{NOTES} notes, {words} words per request, {requests} requests per mode (CPU ms per request)")
    base = median(times["full"])
    for name, values in times.items():
        p90 = quantiles(values, n=10)[-1]
        print(f"  {name:<7} median {median(values):7.2f}  p90 {p90:7.2f}  ratio to full {median(values) / base:5.2f}")
    if "--engine" in argv:
        engine(load_knowledge(ROOT / "cards"), requests)
    return 0


def engine(k: Knowledge, requests: int) -> None:
    """CPU per whole evaluation (record assembly, facts with the text step, rules, card) per body and path."""
    import logging
    from datetime import UTC, datetime

    logging.disable(logging.WARNING)
    now = datetime.now(UTC)
    spec = k.service
    bodies = {"typical": typical_body(spec, now.date()), "notes": notes_body(spec, now.date())}
    ct = k.text
    paths: dict[str, tuple[Callable[[str], object], Callable[[str], object]]] = {
        "full": (ct.read_full, ct.read_full),
        "fast": (ct.read_uncached, ct.read_uncached),
        "cached": (ClinicalText.read.__get__(ct), ClinicalText.read_uncached.__get__(ct)),
    }
    times: dict[str, list[float]] = {}
    for _ in range(requests + 3):
        for name, body in bodies.items():
            for path, (read, uncached) in paths.items():
                ct.read, ct.read_uncached = read, uncached  # type: ignore[method-assign]
                request = body.request
                start = time.process_time()
                record = record_from_prefetch(request["prefetch"], body.patient_id, spec)
                evaluate(record, k, now, "bench")
                times.setdefault(f"{name:<8} {path}", []).append((time.process_time() - start) * 1000)
    del ct.read, ct.read_uncached
    print(f"\nwhole evaluation in process (CPU ms per request, {requests} requests, first 3 dropped)")
    for key, values in times.items():
        values = values[3:]
        print(f"  {key:<14} median {median(values):7.2f}  p90 {quantiles(values, n=10)[-1]:7.2f}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
