"""The paper's claims over several draws of one comparison: the same objectives trained again
with another seed and evaluated against that seed's baseline (a separate ``eval.py`` run whose
first baseline is the second seed's).

One evaluation's intervals cover the sampling of test images, not of training runs: a
difference between objectives shows what one pair of trained models does. An effect of the
objective should show in every draw, each with its own paired intervals; two draws that
disagree say the difference is of the order of run-to-run chance. Each draw's verdict is
:func:`~gradjax.evaluation.verdicts.verdict_rows`'s (with its own seed-to-seed qualifier);
the last column says whether the draws agree. Usage::

    python -m gradjax.evaluation.draws "seed 0=results/cifar10-6ep/metrics.json" \\
        "seed 1=results/cifar10-6ep/seed1/metrics.json" [--figure draws.png]

A draw may be several files, comma-separated: the separate evaluations of one set of runs
(e.g. ``…/metrics.json,…/perturbation-2000/metrics.json``), read together.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from gradjax.evaluation.figures import interval_panels
from gradjax.evaluation.report_format import MISSING, table_head
from gradjax.evaluation.verdicts import WITHIN_SEEDS, Row, verdict_rows


def agreement(outcomes: Sequence[str | None]) -> str:
    """The verdict over draws from each draw's verdict (``None``: the draw lacks the claim).

    The same verdict in every draw that measured the claim is that verdict, "in both draws"
    (or "in all N draws"); draws whose difference was no larger than their seed pair's, and
    draws without the claim, are counted after it. Different verdicts are said as such: a
    claim is not settled by the draws that agree. Fewer than two draws with the claim give no
    agreement, only how many measured it.
    """
    if not outcomes:
        raise ValueError("no draws")
    measured = [o for o in outcomes if o is not None]
    if len(measured) < 2:
        return f"measured in {len(measured)} of {len(outcomes)} draws"
    notes = []
    plain = {o.removesuffix(WITHIN_SEEDS) for o in measured}
    if len(plain) > 1:
        said = "draws disagree"
    else:
        (outcome,) = plain
        said = f"{outcome} in {'both' if len(measured) == 2 else f'all {len(measured)}'} draws"
        within = sum(o.endswith(WITHIN_SEEDS) for o in measured)
        if within:
            notes.append(f"{within} within the seed-to-seed difference")
    if len(measured) < len(outcomes):
        notes.append(f"{len(outcomes) - len(measured)} of {len(outcomes)} not measured")
    return f"{said} ({'; '.join(notes)})" if notes else said


def _rows_by_claim(metrics_by_draw: Mapping[str, Mapping]) -> tuple[list[str], dict]:
    """Each draw's column heading and ``{claim: {draw label: Row}}`` (claims in the order
    first met).

    Raises:
      ValueError: fewer than two draws, or a draw with no baseline run.
    """
    if len(metrics_by_draw) < 2:
        raise ValueError(f"need at least two draws, got {len(metrics_by_draw)}")
    rows: dict[str, dict[str, Row]] = {}
    columns = []
    for label, metrics in metrics_by_draw.items():
        verdicts = verdict_rows(metrics)
        if verdicts.baseline is None:
            raise ValueError(f"draw {label!r} has no baseline run to compare against")
        columns.append(f"{label}: against {verdicts.baseline} (95% CI)")
        for row in verdicts.rows:
            rows.setdefault(row.claim, {})[label] = row
    return columns, rows


def draws_table(metrics_by_draw: Mapping[str, Mapping]) -> list[str]:
    """A markdown table: one row per claim any draw holds (in the order first met), one column
    per draw (``{label: metrics}``; that draw's numbers and verdict) and their agreement.

    Raises:
      ValueError: fewer than two draws, or a draw with no baseline run.
    """
    columns, rows = _rows_by_claim(metrics_by_draw)
    lines = table_head(["claim (paper)", *columns, "over the draws"])
    for claim, by_draw in rows.items():
        found = [by_draw.get(label) for label in metrics_by_draw]
        shown = [f"{r.evidence}: {r.outcome}" if r else MISSING for r in found]
        outcome = agreement([r and r.outcome for r in found])
        lines.append("| " + " | ".join([claim, *shown, f"**{outcome}**"]) + " |")
    return lines


def draws_figure(metrics_by_draw: Mapping[str, Mapping], path: Path) -> Path:
    """The differences of :func:`draws_table` drawn: one panel per claim that is a difference
    to the baseline, one row per draw that measured it (its Δ, filled, and its seed pair's,
    open, with their 95% intervals). An effect of the objective is a filled dot on the
    same side of 0 in every draw, outside the open ones.

    Raises:
      ValueError: as :func:`draws_table`, or no claim is such a difference.
    """
    _, rows = _rows_by_claim(metrics_by_draw)
    panels = {}
    for claim, by_draw in rows.items():
        measured = [(label, row) for label, row in by_draw.items() if row.difference is not None]
        if measured:
            unit = measured[0][1].unit
            title = textwrap.fill(claim + (f" [{unit}]" if unit else ""), 60)
            panels[title] = [
                (label, row.difference, row.seed_difference) for label, row in measured
            ]
    return interval_panels(path, panels, reference_label="the baseline's seed partner")


def merged(parts: Sequence[Mapping]) -> dict:
    """One draw's metrics from the files of its separate evaluations (e.g. accuracy on all
    test images in one, perturbation on a subset in another): their runs and measurements
    together.

    Raises:
      ValueError: one measurement in two files, or one run name with two configs.
    """
    runs: dict = {}
    measurements: dict = {}
    for part in parts:
        for name, run in part["runs"].items():
            if name in runs and runs[name]["config"] != run["config"]:
                raise ValueError(f"run {name!r} has different configs in two files")
            runs.setdefault(name, run)
        for name, result in part["measurements"].items():
            if name in measurements:
                raise ValueError(f"measurement {name!r} is in two files of one draw")
            measurements[name] = result
    return {"runs": runs, "measurements": measurements}


def _labelled(argument: str) -> tuple[str, list[Path]]:
    """``[LABEL=]METRICS.json[,METRICS.json...]``; the label defaults to the first file's
    directory name."""
    label, _, paths = argument.rpartition("=")
    files = [Path(p) for p in paths.split(",")]
    return label or files[0].parent.name, files


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "draws",
        nargs="+",
        type=_labelled,
        help="[LABEL=]METRICS.json[,METRICS.json...], one per draw (≥ 2); a draw's files are "
        "its separate evaluations, read together",
    )
    p.add_argument(
        "--figure",
        type=Path,
        help="also draw every difference to the baseline, per draw and beside its seed pair's, "
        "into this PNG",
    )
    args = p.parse_args(argv)
    labels = [label for label, _ in args.draws]
    if len(set(labels)) < len(labels):
        p.error(f"two draws share a label: {labels}; name them LABEL=METRICS.json")
    try:
        draws = {
            label: merged([json.loads(path.read_text()) for path in paths])
            for label, paths in args.draws
        }
        lines = draws_table(draws)
        if args.figure:
            draws_figure(draws, args.figure)
    except (OSError, ValueError) as e:
        p.error(str(e))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
