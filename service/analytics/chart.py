"""The report's chart: cards issued per week by tier (bars) and the share accepted (line).

matplotlib with the Agg back-end: it writes PNG and SVG without a display or a browser, it is the
most widely packaged plotting library (Debian, conda, wheels for every platform), and it is an optional
extra (``pip install backpain-cds[report]``) so the service image does not carry it.
"""

from __future__ import annotations

from pathlib import Path

from service.analytics.report import Report

FORMATS = (".png", ".svg")


def write_chart(report: Report, path: Path) -> None:
    """Write the chart to ``path`` (``.png`` or ``.svg``); raises ValueError for another suffix."""
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"chart file must end in {' or '.join(FORMATS)}: {path}")
    try:
        import matplotlib
    except ImportError as exc:  # the optional extra is not installed
        raise ValueError("the chart needs matplotlib: pip install 'backpain-cds[report]'") from exc
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    weeks = report.weeks()
    tiers = sorted({tier for _, tier in report.cells})
    fig, bars = plt.subplots(figsize=(9, 4.5), dpi=100)
    try:
        bottom = [0] * len(weeks)
        for tier in tiers:
            counts = [report.cells[(w, tier)].issued if (w, tier) in report.cells else 0 for w in weeks]
            bars.bar(weeks, counts, bottom=bottom, label=f"{tier} issued")
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        bars.set_xlabel("ISO week")
        bars.set_ylabel("cards issued")
        bars.set_title("Back-pain red-flag cards: issued per week and share accepted")
        line = bars.twinx()
        shares = []
        for week in weeks:
            issued = sum(f.issued for (w, _), f in report.cells.items() if w == week)
            accepted = sum(f.accepted for (w, _), f in report.cells.items() if w == week)
            shares.append(100.0 * accepted / issued if issued else float("nan"))
        line.plot(weeks, shares, color="black", marker="o", label="accepted %")
        line.set_ylim(0, 100)
        line.set_ylabel("accepted (% of cards issued)")
        handles, labels = bars.get_legend_handles_labels()
        more, more_labels = line.get_legend_handles_labels()
        bars.legend(handles + more, labels + more_labels, loc="upper left", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
