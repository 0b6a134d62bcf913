"""Print precision and recall per sign, and accuracy per category, of the clinical text step.

Usage: python scripts/text_eval.py [tests/text/sentences.tsv] [-v]   (-v lists every wrong row)
The pipeline is built from cards/text exactly as the service builds it at start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.knowledge import load_knowledge  # noqa: E402
from service.text.evaluation import read_rows, score  # noqa: E402


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("-")]
    path = Path(args[0]) if args else ROOT / "tests" / "text" / "sentences.tsv"
    rows = read_rows(path)
    by_sign, by_category = score(load_knowledge(ROOT / "cards").text, rows)
    print(f"{len(rows)} sentences from {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}\n")
    print(f"{'sign':<18} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4} {'precision':>10} {'recall':>7}")
    for sign, s in sorted(by_sign.items()):
        print(f"{sign:<18} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.tn:>4} {s.precision:>10.3f} {s.recall:>7.3f}")
    print(f"\n{'category':<18} {'rows':>5} {'accuracy':>9}")
    for category, s in sorted(by_category.items()):
        print(f"{category:<18} {s.tp + s.fp + s.fn + s.tn:>5} {s.accuracy:>9.3f}")
    wrong = [w for s in by_category.values() for w in s.wrong]
    if wrong:
        print(f"\n{len(wrong)} wrong:" if "-v" in argv else f"\n{len(wrong)} wrong (-v lists them)")
        if "-v" in argv:
            print("\n".join(f"  {w}" for w in wrong))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
