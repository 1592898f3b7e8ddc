"""Verdicts on the paper's claims, with the training seed as the unit.

Each measurement module declares the claims it can judge: ``VERDICTS``, a tuple of
:class:`Verdict`, and ``quantities(metrics)``, the per-run numbers they compare. A verdict
compares an objective with the baseline *of the same seed* (or judges the baseline's own value
against a threshold), once per seed: the seeds' values form the evidence, summarised by their
mean and a Student-t 95% interval over the seeds (:func:`~gradjax.evaluation.stats.seed_interval`).
Beside it: how far two baselines of different seeds lie apart on the same quantity (the
yardstick of chance), and the image-level interval of the first seed (whether those two trained
models differ on these test images; it says nothing about the objective).

Outcomes: with two seeds or more, "reproduced" / "against the paper" when the seed-level
interval excludes the threshold on the paper's / the other side, else "no difference
detected"; with one seed, the image-level interval's side, marked "indicative" — one trained
model per objective cannot say what the objective does.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence

from gradjax import paper
from gradjax.evaluation.stats import excludes_zero, seed_interval
from gradjax.paper import CLAIMS


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One row a measurement can judge.

    ``quantity`` names an entry of the measurement's ``quantities(metrics)``; ``objective``:
    the objective whose difference to the same seed's baseline is judged, or ``None`` to judge
    the baseline's own value against ``threshold``. ``sign``: the paper's direction (+1: higher
    than the baseline, or above the threshold). ``beside``: another quantity shown next to it
    (e.g. the other density statistic). ``paper``: the paper's number, as printed."""

    claim: str
    wording: str
    quantity: str
    objective: str | None
    sign: int
    threshold: float = 0.0
    beside: str | None = None
    scale: float = 1.0
    unit: str = ""
    paper: str = "–"
    # Read where an evaluation lacks ``quantity`` (e.g. the mean log-ratio where the paper's
    # statistic was not kept); the row then carries ``fallback_note``.
    fallback: str | None = None
    fallback_note: str = "another statistic: this evaluation did not keep the one named"

    def __post_init__(self):
        if self.claim not in CLAIMS:
            raise ValueError(f"unknown claim {self.claim!r}; known: {', '.join(CLAIMS)}")
        if self.sign not in (-1, 1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign}")


@dataclasses.dataclass
class Row:
    """A verdict's evidence: per-seed values, their seed-level interval, the baseline pairs'
    spread, the first seed's image-level interval, the outcome."""

    verdict: Verdict
    measurement: str
    seeds: list[int]
    estimate: dict
    beside: dict | None
    baseline_pairs: list[float]
    image: dict | None
    outcome: str
    note: str = ""


def run_seeds(metrics: Mapping) -> dict[str, tuple[str, int]]:
    """``{run: (objective, seed)}`` of an evaluation's runs, one run per objective and seed (in
    the order of ``metrics["runs"]``): where a sweep holds several, the one at the paper's
    constants (§5: λ, and μ for score-matching), else the first."""
    chosen: dict[tuple[str, int], tuple[str, bool]] = {}
    for name, run in metrics["runs"].items():
        objective = run["config"]["objective"]
        key, at_paper = (objective["name"], run["config"]["run"]["seed"]), _at_paper(objective)
        if key not in chosen or (at_paper and not chosen[key][1]):
            chosen[key] = (name, at_paper)
    keys = {name: key for key, (name, _) in chosen.items()}
    return {name: keys[name] for name in metrics["runs"] if name in keys}


def _at_paper(objective: Mapping) -> bool:
    name = objective["name"]
    if name not in paper.LAMBDA or objective.get("lam") != paper.LAMBDA[name]:
        return False
    return name != "score-matching" or objective.get("mu") == paper.MU


def _evidence(verdict: Verdict, quantity: Mapping, runs: Mapping, reference: str | None):
    """``{seed: (value, image interval or None)}`` of one evaluation for ``verdict``."""
    by_seed = {}
    baselines = {seed: name for name, (o, seed) in runs.items() if o == "baseline"}
    for name, (objective, seed) in runs.items():
        if seed not in baselines or name not in quantity:
            continue
        base = baselines[seed]
        if verdict.objective is None and objective == "baseline":
            entry = quantity[name]
            by_seed[seed] = (entry["value"], entry.get("image"))
        elif objective == verdict.objective and base in quantity:
            value = quantity[name]["value"] - quantity[base]["value"]
            image = quantity[name].get("difference") if base == reference else None
            by_seed[seed] = (value, image)
    return by_seed


def _baseline_values(quantity: Mapping, runs: Mapping) -> dict[int, float]:
    return {
        s: quantity[n]["value"] for n, (o, s) in runs.items() if o == "baseline" and n in quantity
    }


def outcome(verdict: Verdict, estimate: dict, image: dict | None, n: int) -> str:
    """The verdict's word from the seed-level interval (two seeds or more) or, with one seed,
    from the image-level one, against the threshold (0 for a difference)."""
    if n < 2 and image is None:
        return "indicative: one seed, no interval"
    interval = estimate if n >= 2 else image
    offset = verdict.threshold if verdict.objective is None else 0.0
    interval = {k: interval[k] - offset for k in ("low", "high")}
    if not excludes_zero(interval["low"], interval["high"]):
        said = "no difference detected"
    else:
        said = "reproduced" if (interval["low"] > 0) == (verdict.sign > 0) else "against the paper"
    return said if n >= 2 else f"indicative ({said}, one seed)"


@dataclasses.dataclass
class _Evidence:
    """What one verdict collects over the evaluations, seed by seed (first come, kept)."""

    seeds: dict = dataclasses.field(default_factory=dict)
    beside: dict = dataclasses.field(default_factory=dict)
    baselines: dict = dataclasses.field(default_factory=dict)
    first_image: dict | None = None
    fell_back: bool = False

    def add(self, verdict: Verdict, q: Mapping, metrics: Mapping, measurement: str) -> None:
        quantity = verdict.quantity
        if quantity not in q and verdict.fallback in q:
            quantity, self.fell_back = verdict.fallback, True
        if quantity not in q:
            return
        runs = run_seeds(metrics)
        reference = metrics["measurements"][measurement].get("reference")
        other = {}
        if verdict.beside and verdict.beside in q and verdict.beside != quantity:
            other = _evidence(verdict, q[verdict.beside], runs, reference)
        for seed, (value, image) in _evidence(verdict, q[quantity], runs, reference).items():
            if seed in self.seeds:
                continue
            self.seeds[seed] = value
            self.first_image = image if self.first_image is None else self.first_image
            if seed in other:
                self.beside[seed] = other[seed][0]
        for seed, value in _baseline_values(q[quantity], runs).items():
            self.baselines.setdefault(seed, value)


def judge(
    measurement: str, verdicts: Sequence[Verdict], evaluations: Sequence[Mapping], quantities
) -> list[Row]:
    """The rows of ``verdicts`` over ``evaluations`` (metrics dicts holding ``measurement``;
    each seed is read from the first evaluation that has it). ``quantities``: the
    measurement's ``quantities(metrics)``."""
    read = [
        (quantities(e["measurements"][measurement]), e)
        for e in evaluations
        if measurement in e["measurements"]
    ]
    rows = []
    for verdict in verdicts:
        found = _Evidence()
        for q, metrics in read:
            found.add(verdict, q, metrics, measurement)
        if not found.seeds:
            continue
        order = sorted(found.seeds)
        estimate = seed_interval([found.seeds[s] for s in order])
        beside = [found.beside[s] for s in order if s in found.beside]
        note = ""
        if found.fell_back:
            note = verdict.fallback_note
        rows.append(
            Row(
                verdict,
                measurement,
                order,
                estimate,
                seed_interval(beside) if beside else None,
                [abs(a - b) for a, b in itertools.combinations(found.baselines.values(), 2)],
                found.first_image,
                outcome(verdict, estimate, found.first_image, len(order)),
                note,
            )
        )
    return rows


def judge_all(evaluations: Sequence[Mapping], measurements: Mapping) -> list[Row]:
    """Every verdict of every measurement in ``measurements`` (the registry) over
    ``evaluations``, in registry order."""
    rows = []
    for name, measurement in measurements.items():
        if measurement.verdicts and measurement.quantities:
            rows += judge(name, measurement.verdicts, evaluations, measurement.quantities)
    return rows


def _number(value: float, verdict: Verdict) -> str:
    return f"{verdict.scale * value:+.3g}"


def estimate_cell(row: Row) -> str:
    """The seed-level mean and interval (one seed: its value and the image-level interval)."""
    v, e = row.verdict, row.estimate
    if e["n"] >= 2:
        bounds = e
    elif row.image is not None:
        bounds = row.image
    else:
        return f"{_number(e['value'], v)}{v.unit}"
    low, high = (_number(bounds[k], v) for k in ("low", "high"))
    images = " (images)" if e["n"] < 2 else ""
    return f"{_number(e['value'], v)} [{low}, {high}]{v.unit}{images}"


def yardstick_cell(row: Row) -> str:
    """The largest difference between two baseline seeds of the quantity (chance's size)."""
    if not row.baseline_pairs:
        return "–"
    return f"≤ {row.verdict.scale * max(row.baseline_pairs):.3g}{row.verdict.unit}"


def verdict_table(rows: Sequence[Row], *, study: str | None = None) -> list[str]:
    """Markdown: one line per row, the seed count and the seed-level interval first."""
    head = ["claim", "comparison", "seeds", "ours: mean over seeds [95% CI]"]
    head += ["other statistic", "two baselines differ by", "paper", "verdict"]
    if study:
        head.insert(0, "study")
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for row in rows:
        v = row.verdict
        beside = "–"
        if row.beside is not None and row.beside["n"]:
            beside = _number(row.beside["value"], v) + v.unit
        cells = [
            f"{v.claim} ({CLAIMS[v.claim].where})",
            v.wording + (f" ({row.note})" if row.note else ""),
            str(row.estimate["n"]),
            estimate_cell(row),
            beside,
            yardstick_cell(row),
            v.paper,
            f"**{row.outcome}**",
        ]
        if study:
            cells.insert(0, study)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


__all__ = [
    "Row",
    "Verdict",
    "estimate_cell",
    "judge",
    "judge_all",
    "outcome",
    "run_seeds",
    "verdict_table",
    "yardstick_cell",
]
