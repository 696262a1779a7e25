"""PNG plots of a KPI report (matplotlib, Agg; no pyplot state, so safe in the web server).

The same plots go into `reports/kpi.md` and the dashboard.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy

from analytics import mapping
from analytics.kpis import Report

OUTCOME_COLOURS = {
    mapping.BOT_RESOLVED: "#2e7d32",
    mapping.AGENT_RESOLVED: "#1565c0",
    mapping.HANDOFF_OPEN: "#90caf9",
    mapping.HANDOFF_UNAVAILABLE: "#ef6c00",
    mapping.ABANDONED: "#c62828",
    mapping.UNRESOLVED: "#bdbdbd",
}
OUTCOME_LABELS = {
    mapping.BOT_RESOLVED: "resolved by the bot",
    mapping.AGENT_RESOLVED: "resolved by an agent",
    mapping.HANDOFF_OPEN: "with an agent",
    mapping.HANDOFF_UNAVAILABLE: "no agent reachable",
    mapping.ABANDONED: "abandoned (left mid-task)",
    mapping.UNRESOLVED: "unresolved",
}
PLOTS = ("conversations", "rates", "csat", "handoff_times")


def np_max(values: object) -> float:
    """The largest value, NaN ignored."""
    return float(numpy.nanmax(numpy.asarray(values, dtype=float)))


def _figure(width: float = 8.0, height: float = 3.4) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415 - heavy (seconds to load); only drawing needs it

    figure = Figure(figsize=(width, height), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)
    return figure, axes


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - heavy; only drawing needs it

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _labels(report: Report) -> list[str]:
    return [bucket.label for bucket in report.series]


def _tick(axes: Any, labels: list[str]) -> None:
    step = max(1, len(labels) // 12)
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions)
    axes.set_xticklabels([labels[i] for i in positions], rotation=30, ha="right", fontsize=8)
    axes.set_xlim(-0.6, len(labels) - 0.4)


def _empty(axes: Any, report: Report) -> bool:
    if report.total.conversations:
        return False
    axes.text(0.5, 0.5, "no conversations in this range", ha="center", va="center",
              transform=axes.transAxes, color="#757575")
    axes.set_xticks([])
    axes.set_yticks([])
    return True


def conversations_png(report: Report) -> bytes:
    figure, axes = _figure()
    axes.set_title("Conversations by outcome")
    if not _empty(axes, report):
        labels = _labels(report)
        bottom = [0] * len(labels)
        for outcome in mapping.OUTCOMES:
            values = [bucket.kpis.outcomes.get(outcome, 0) for bucket in report.series]
            axes.bar(range(len(labels)), values, bottom=bottom, color=OUTCOME_COLOURS[outcome],
                     label=OUTCOME_LABELS[outcome], width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _tick(axes, labels)
        axes.set_ylim(0, max(bottom) * 1.35 + 0.5)  # room for the legend
        axes.set_ylabel("conversations")
        axes.legend(fontsize=7, frameon=False, loc="upper left", ncol=3)
    return _png(figure)


def rates_png(report: Report) -> bytes:
    figure, axes = _figure()
    axes.set_title("Containment, abandoned, handoff and fallback rates")
    if not _empty(axes, report):
        labels = _labels(report)
        series: list[tuple[str, Callable[[Any], float | None], str]] = [
            ("containment", lambda k: k.containment, "#2e7d32"),
            ("abandoned", lambda k: k.abandonment_rate, "#c62828"),
            ("handoff rate", lambda k: k.handoff_rate, "#1565c0"),
            ("fallback rate (messages)", lambda k: k.fallback_rate, "#ef6c00"),
        ]
        for name, get, colour in series:
            # no conversations in a bucket: a gap in the line, not a straight line across it
            values = [get(bucket.kpis) for bucket in report.series]
            ys = [v * 100 if v is not None else math.nan for v in values]
            axes.plot(range(len(ys)), ys, marker="o", markersize=3, label=name, color=colour)
        _tick(axes, labels)
        axes.set_ylim(0, 130)  # room for the legend
        axes.set_yticks([0, 25, 50, 75, 100])
        axes.set_ylabel("%")
        axes.legend(fontsize=7, frameon=False, loc="upper left", ncol=3)
    return _png(figure)


def csat_png(report: Report) -> bytes:
    figure, axes = _figure()
    total = report.total
    mean = f"{total.csat_mean:.2f}" if total.csat_mean is not None else "-"
    axes.set_title(f"CSAT ratings (mean {mean}, n={total.csat_ratings})")
    if total.csat_ratings == 0:
        axes.text(0.5, 0.5, "no ratings in this range", ha="center", va="center",
                  transform=axes.transAxes, color="#757575")
        axes.set_xticks([])
        axes.set_yticks([])
    else:
        scores = [1, 2, 3, 4, 5]
        axes.bar(scores, [total.csat_distribution.get(s, 0) for s in scores],
                 color=["#c62828", "#ef6c00", "#fbc02d", "#7cb342", "#2e7d32"])
        axes.set_xticks(scores)
        from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - heavy; only drawing needs it

        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("rating")
        axes.set_ylabel("ratings")
    return _png(figure)


def handoff_times_png(report: Report) -> bytes:
    figure, axes = _figure()
    axes.set_title("Handed-off conversations: first response and resolution (minutes)")
    labels = _labels(report)
    drawn = False
    for name, get, colour, style in (
        ("first response, median", lambda k: k.first_response.median, "#1565c0", "-"),
        ("first response, p90", lambda k: k.first_response.p90, "#1565c0", ":"),
        ("resolution, median", lambda k: k.resolution.median, "#6a1b9a", "-"),
        ("resolution, p90", lambda k: k.resolution.p90, "#6a1b9a", ":"),
    ):
        values = [get(bucket.kpis) for bucket in report.series]
        if any(v is not None for v in values):
            ys = [v / 60 if v is not None else math.nan for v in values]
            axes.plot(range(len(ys)), ys, marker="o", markersize=3, linestyle=style,
                      color=colour, label=name)
            drawn = True
    if drawn:
        _tick(axes, labels)
        axes.set_ylabel("minutes")
        top = max(float(np_max(line.get_ydata())) for line in axes.get_lines())
        axes.set_ylim(0, top * 1.35 + 0.1)
        axes.legend(fontsize=7, frameon=False, loc="upper left", ncol=2)
    else:
        axes.text(0.5, 0.5, "no handed-off conversation reached an agent in this range",
                  ha="center", va="center", transform=axes.transAxes, color="#757575")
        axes.set_xticks([])
        axes.set_yticks([])
    return _png(figure)


RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "conversations": conversations_png,
    "rates": rates_png,
    "csat": csat_png,
    "handoff_times": handoff_times_png,
}


def render(name: str, report: Report) -> bytes:
    if name not in RENDERERS:
        raise KeyError(f"no plot named {name!r}; choose from {', '.join(PLOTS)}")
    return RENDERERS[name](report)
