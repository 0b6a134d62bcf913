"""CPU cost of the clinical text step per request with the benchmark's 10 clinical notes (~200 words each).

Usage: python scripts/text_cost.py [--requests N]
Reads the notes of service/bench/notes.py (the body of ``backpain-cds bench --workloads notes``) in process and
prints CPU milliseconds (time.process_time) per request = reading all 10 notes, median and p90 over N requests,
for each path the pipeline has: ``full`` (every sentence through the whole spaCy pipeline), ``fast`` (only the
sentences that can hold a target, no cache) and ``cached`` (``read``: fast plus the per-process note cache; the
bench body repeats the same notes on every request, so this is what the bench sees, not what distinct patients
cost). Modes are interleaved request by request so that machine load hits them alike; compare the ratios.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median, quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.bench.notes import NOTES, note_text  # noqa: E402
from service.knowledge import load_knowledge  # noqa: E402


def main(argv: list[str]) -> int:
    requests = int(argv[argv.index("--requests") + 1]) if "--requests" in argv else 40
    ct = load_knowledge(ROOT / "cards").text
    notes = [note_text(i) for i in range(NOTES)]
    modes: dict[str, Callable[[str], object]] = {"full": getattr(ct, "read_full", ct.read)}
    if hasattr(ct, "read_uncached"):
        modes["fast"] = ct.read_uncached
        modes["cached"] = ct.read
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(3):  # warm-up: lexemes, regex caches
        for read in modes.values():
            for note in notes:
                read(note)
    for _ in range(requests):
        for name, read in modes.items():
            start = time.process_time()
            for note in notes:
                read(note)
            times[name].append((time.process_time() - start) * 1000)
    words = sum(len(n.split()) for n in notes)
    print(f"{NOTES} notes, {words} words per request, {requests} requests per mode (CPU ms per request)")
    base = median(times["full"])
    for name, values in times.items():
        p90 = quantiles(values, n=10)[-1]
        print(f"  {name:<7} median {median(values):7.2f}  p90 {p90:7.2f}  ratio to full {median(values) / base:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
