"""Verdicts on the paper's claims, read from the measurements' metrics: each row states the
claim, the numbers it rests on (with their 95% intervals) and the verdict, "no difference
detected" whenever an interval covers 0. Rows whose measurements were not run are left out.

Where the baseline was trained again with another seed (:mod:`gradjax.evaluation.seeds`), each
row also shows that second seed's value of the same quantity, and a difference between
objectives no larger than the two seeds' is marked as within the seed-to-seed difference."""

from __future__ import annotations

from typing import NamedTuple

from gradjax.evaluation.measurements.density import at_sigma
from gradjax.evaluation.report_format import MISSING, interval
from gradjax.evaluation.seeds import seed_partner, within_seed_spread
from gradjax.evaluation.stats import verdict

# Appended to a verdict whose difference is no larger than the seed pair's.
WITHIN_SEEDS = ", within the seed-to-seed difference"

# The paper's CIFAR-100 accuracies (Table 1): every regulariser costs some accuracy.
PAPER_ACCURACY = {
    "baseline": 78.01,
    "score-matching": 72.20,
    "anti-score-matching": 74.87,
    "gradient-norm": 76.60,
}


def _first_of(metrics: dict) -> dict[str, str]:
    """``{objective: run name}``, preferring runs at the paper's constants (a sweep may hold
    several runs of one objective)."""
    names = {}
    for paper_only in (True, False):
        for name, run in metrics["runs"].items():
            o = run["config"]["objective"]
            if not paper_only or (o["lam"] is None and o["mu"] == 1e-4):
                names.setdefault(o["name"], name)
    return names


class Row(NamedTuple):
    """One claim: its wording, our numbers (95% intervals), the seed partner's value of the same
    quantity (or "–"), the verdict, and, for a difference between an objective and the baseline,
    that difference and the seed partner's as ``{"value", "low", "high"}`` in ``unit`` (the
    printed scale), for figures; ``None`` where the row is not such a difference."""

    claim: str
    evidence: str
    seed: str
    outcome: str
    difference: dict | None = None
    seed_difference: dict | None = None
    unit: str = ""


def _row(claim: str, evidence: str, outcome: str, seed: str = MISSING) -> Row:
    return Row(claim, evidence, seed, outcome)


def _scaled(diff: dict, scale: float) -> dict:
    return {k: scale * diff[k] for k in ("value", "low", "high")}


def _compared(
    claim: str, diff: dict, seed_diff: dict | None, sign: int, *, scale: float = 1.0, unit=""
) -> Row:
    """A row on an objective's difference to the baseline, expected to have ``sign``;
    ``seed_diff``: the second baseline seed's difference of the same quantity, or ``None``."""
    outcome = _directional(diff, sign)
    seed = MISSING
    if seed_diff is not None:
        seed = f"Δ = {interval(seed_diff, scale=scale)}{unit}"
        if outcome != "no difference detected" and within_seed_spread(diff, seed_diff):
            outcome += WITHIN_SEEDS
    shown = _scaled(diff, scale)
    return Row(
        claim,
        f"Δ = {interval(shown)}{unit}",
        seed,
        outcome,
        shown,
        seed_diff and _scaled(seed_diff, scale),
        unit.strip(),
    )


def _directional(d: dict, expected_sign: int) -> str:
    side = verdict(d["low"], d["high"], higher="+", lower="-")
    if side == "no difference detected":
        return side
    return "reproduced" if (side == "+") == (expected_sign > 0) else "contradicted"


def _perturbation_difference(differences: dict, protocol: str, name: str | None) -> dict | None:
    """Run ``name``'s AUC difference to the baseline under ``protocol`` ("own": ranked by its
    own logit-gradients; "by_reference": by the fixed baseline model's), or ``None``."""
    diff = differences[protocol].get(name) if name else None
    return diff["logit-gradient"] if diff and protocol == "own" else diff


class Verdicts(NamedTuple):
    """The claims one evaluation can speak to, a :class:`Row` each, read against ``baseline``
    (the run every difference is to), with ``partner`` its seed partner (``None``: none
    evaluated)."""

    baseline: str | None
    partner: str | None
    rows: list[Row]


def verdict_rows(metrics: dict) -> Verdicts:
    """Every claim of the paper that ``metrics`` (an ``eval.py`` metrics file) holds the
    measurements for, with its verdict."""
    m = metrics["measurements"]
    obj = _first_of(metrics)
    rows = []
    base = obj.get("baseline")
    partner = (
        seed_partner({n: r["config"] for n, r in metrics["runs"].items()}, base) if base else None
    )
    expectations = ("score-matching", "gradient-norm", "anti-score-matching")
    if "accuracy" in m and base:
        a = m["accuracy"]
        for objective in expectations:
            name = obj.get(objective)
            if name is None or name not in a["difference"]:
                continue
            paper = PAPER_ACCURACY[objective] - PAPER_ACCURACY["baseline"]
            rows.append(
                _compared(
                    f"{objective}: test accuracy lower than the baseline's (Table 1: "
                    f"{paper:+.2f} points)",
                    a["difference"][name],
                    a["difference"].get(partner),
                    -1,
                    scale=100,
                    unit=" points",
                )
            )
    if "density" in m and base:
        d = m["density"]
        s = d["headline_sigma"]
        head = at_sigma(d["runs"][base], d["sigmas"], s)
        side = verdict(head["low"], head["high"], higher="+", lower="-")
        outcome = {"+": "reproduced", "-": "not reproduced"}.get(side, side)
        seed = interval(at_sigma(d["runs"][partner], d["sigmas"], s)) if partner else MISSING
        rows.append(
            _row(
                f"The baseline assigns *higher* density to noisy inputs (Fig. 1): mean f_y(x+η) − "
                f"f_y(x) > 0 at σ = {s:g}",
                f"baseline {interval(head)}",
                outcome,
                seed,
            )
        )
        for objective in expectations:
            name = obj.get(objective)
            if name is None or name not in d["difference"]:
                continue
            sign = +1 if objective == "anti-score-matching" else -1
            wording = "flatter (less aligned)" if sign > 0 else "steeper (noisy images less likely)"
            seed_diff = d["difference"].get(partner)
            rows.append(
                _compared(
                    f"{objective}: density ratio {wording} than the baseline at σ = {s:g}",
                    at_sigma(d["difference"][name], d["sigmas"], s),
                    seed_diff and at_sigma(seed_diff, d["sigmas"], s),
                    sign,
                )
            )
    if "gan-test" in m:
        g = m["gan-test"]
        for objective in expectations:
            name = obj.get(objective)
            if name is None or name not in g["difference"]:
                continue
            sign = -1 if objective == "anti-score-matching" else +1
            seed_diff = g["difference"].get(partner)
            rows.append(
                _compared(
                    f"{objective}: GAN-test {'lower' if sign < 0 else 'higher'} than the baseline "
                    "(Table 1)",
                    g["difference"][name]["generated"],
                    seed_diff and seed_diff["generated"],
                    sign,
                    scale=100,
                    unit=" points",
                )
            )
    if "perturbation" in m:
        p = m["perturbation"]["difference"]
        for protocol, label in (("own", "own model"), ("by_reference", "fixed baseline model")):
            for objective in expectations:
                diff = _perturbation_difference(p, protocol, obj.get(objective))
                if diff is None:
                    continue
                sign = -1 if objective == "anti-score-matching" else +1
                rows.append(
                    _compared(
                        f"{objective}: pixel-perturbation AUC {'worse' if sign < 0 else 'better'} "
                        f"than the baseline, {label} (Fig. 3)",
                        diff,
                        _perturbation_difference(p, protocol, partner),
                        sign,
                        scale=100,
                        unit=" points",
                    )
                )
    if "fooling" in m:
        f = m["fooling"]
        shift = f["shift"]
        same = shift["original"]["accuracy"] == shift["shifted"]["accuracy"]
        aligned = shift["shifted"]["logit_gradient_cosine_to_pattern"]
        rows.append(
            _row(
                "Adding g(x) to all logits leaves accuracy unchanged and moves logit-gradients at "
                "will (§2)",
                f"accuracy {100 * shift['original']['accuracy']:.2f} → "
                f"{100 * shift['shifted']['accuracy']:.2f}%, cosine to ∇g {aligned:.3f}",
                "reproduced" if same and aligned > 0.99 else "not reproduced",
            )
        )
        tune = f["fine_tune"]
        rise, after = tune["rise"], tune["after"]
        tempered = tune["temperature_key"]
        rows.append(
            _row(
                "Loss-gradients resist saliency fooling: their energy in the mask rises by less "
                "than half the logit-gradients' (App. A)",
                f"rise {interval(rise['loss_gradient'])} (loss) vs "
                f"{interval(rise['logit_gradient'])} (logit); loss − ½·logit: "
                f"{interval(tune['loss_rise_minus_half_logit_rise'])}",
                _directional(tune["loss_rise_minus_half_logit_rise"], -1),
            )
        )
        rows.append(
            _row(
                "A high softmax temperature exposes loss-gradients to fooling (App. A)",
                f"energy after {interval(after[tempered])} at T = {tempered.split('_T')[-1]} vs "
                f"{interval(after['loss_gradient'])} at T = 1; difference "
                f"{interval(tune['tempered_minus_loss_after'])}",
                _directional(tune["tempered_minus_loss_after"], +1),
            )
        )
    return Verdicts(base, partner, rows)


def verdict_lines(metrics: dict) -> list[str]:
    """:func:`verdict_rows` as a markdown table (none: no lines)."""
    _, partner, rows = verdict_rows(metrics)
    if not rows:
        return []
    if partner is None:
        return [
            "| claim (paper) | our numbers (95% CI) | verdict |",
            "|---|---|---|",
            *(f"| {r.claim} | {r.evidence} | **{r.outcome}** |" for r in rows),
        ]
    return [
        f"Beside each row, the same quantity for {partner!r}, the baseline trained again with "
        "another seed: one draw of the difference chance alone makes between two runs.",
        "",
        f"| claim (paper) | our numbers (95% CI) | {partner} (95% CI) | verdict |",
        "|---|---|---|---|",
        *(f"| {r.claim} | {r.evidence} | {r.seed} | **{r.outcome}** |" for r in rows),
    ]


__all__ = ["WITHIN_SEEDS", "Row", "Verdicts", "verdict_lines", "verdict_rows"]
