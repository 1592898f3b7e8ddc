"""Markdown cells shared by the measurements' report sections: values with 95% intervals."""

from __future__ import annotations

from gradjax.evaluation.stats import verdict


def interval(d: dict, *, scale: float = 1.0, digits: int = 3) -> str:
    """``value [low, high]`` of a ``{"value", "low", "high"}`` record, times ``scale``."""
    v, lo, hi = (scale * d[k] for k in ("value", "low", "high"))
    return f"{v:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def pct_interval(d: dict) -> str:
    """A proportion in percent with its interval, two decimals."""
    return f"{100 * d['value']:.2f} [{100 * d['low']:.2f}, {100 * d['high']:.2f}]"


def verdict_cell(d: dict, *, higher: str = "higher", lower: str = "lower") -> str:
    return verdict(d["low"], d["high"], higher=higher, lower=lower)


MISSING = "–"  # a table cell whose measurement did not run, or has no value for that row


def epoch_columns(epochs, shown=(1, 2, 5, 10, 20)) -> list[int]:
    """The epochs a per-epoch table shows: those of ``shown`` reached, and the last of
    ``epochs`` (an iterable of each run's epoch lists)."""
    last = max((max(e) for e in epochs if len(e)), default=0)
    return sorted({e for e in shown if e <= last} | ({last} if last else set()))


def table_head(columns) -> list[str]:
    """A markdown table's header and separator lines for ``columns``."""
    return ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]


def epoch_table(runs: dict, cell) -> list[str]:
    """One row per run of ``runs`` (``{name: {"epochs": [...], ...}}``), one column per epoch
    of :func:`epoch_columns`; ``cell(name, run, i)`` formats the run's ``i``-th epoch,
    :data:`MISSING` where the run has no such epoch."""
    shown = epoch_columns(r["epochs"] for r in runs.values())
    lines = table_head(["model", *(f"epoch {e}" for e in shown)])
    for name, r in runs.items():
        cells = [
            cell(name, r, r["epochs"].index(e)) if e in r["epochs"] else MISSING for e in shown
        ]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return lines


__all__ = [
    "MISSING",
    "epoch_columns",
    "epoch_table",
    "interval",
    "pct_interval",
    "table_head",
    "verdict_cell",
]
