"""Verdicts on the paper's claims, read from the measurements' metrics: each row states the
claim, the numbers it rests on (with their 95% intervals) and the verdict, "no difference
detected" whenever an interval covers 0. Rows whose measurements were not run are left out."""

from __future__ import annotations

from gradjax.evaluation.measurements.density import at_sigma
from gradjax.evaluation.report_format import interval
from gradjax.evaluation.stats import verdict


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


def _row(claim: str, evidence: str, outcome: str) -> str:
    return f"| {claim} | {evidence} | **{outcome}** |"


def _directional(d: dict, expected_sign: int) -> str:
    side = verdict(d["low"], d["high"], higher="+", lower="-")
    if side == "no difference detected":
        return side
    return "reproduced" if (side == "+") == (expected_sign > 0) else "contradicted"


def verdict_lines(metrics: dict) -> list[str]:
    m = metrics["measurements"]
    obj = _first_of(metrics)
    rows = []
    base = obj.get("baseline")
    expectations = ("score-matching", "gradient-norm", "anti-score-matching")
    if "density" in m and base:
        d = m["density"]
        s = d["headline_sigma"]
        head = at_sigma(d["runs"][base], d["sigmas"], s)
        side = verdict(head["low"], head["high"], higher="+", lower="-")
        outcome = {"+": "reproduced", "-": "not reproduced"}.get(side, side)
        rows.append(
            _row(
                f"The baseline assigns *higher* density to noisy inputs (Fig. 1): mean f_y(x+η) − "
                f"f_y(x) > 0 at σ = {s:g}",
                f"baseline {interval(head)}",
                outcome,
            )
        )
        for objective in expectations:
            name = obj.get(objective)
            if name is None or name not in d["difference"]:
                continue
            diff = at_sigma(d["difference"][name], d["sigmas"], s)
            sign = +1 if objective == "anti-score-matching" else -1
            wording = "flatter (less aligned)" if sign > 0 else "steeper (noisy images less likely)"
            rows.append(
                _row(
                    f"{objective}: density ratio {wording} than the baseline at σ = {s:g}",
                    f"Δ = {interval(diff)}",
                    _directional(diff, sign),
                )
            )
    if "gan-test" in m:
        g = m["gan-test"]
        for objective in expectations:
            name = obj.get(objective)
            if name is None or name not in g["difference"]:
                continue
            diff = g["difference"][name]["generated"]
            sign = -1 if objective == "anti-score-matching" else +1
            rows.append(
                _row(
                    f"{objective}: GAN-test {'lower' if sign < 0 else 'higher'} than the baseline "
                    "(Table 1)",
                    f"Δ = {interval(diff, scale=100)} points",
                    _directional(diff, sign),
                )
            )
    if "perturbation" in m:
        p = m["perturbation"]["difference"]
        for protocol, label in (("own", "own model"), ("by_reference", "fixed baseline model")):
            for objective in expectations:
                name = obj.get(objective)
                diff = p[protocol].get(name) if name else None
                if diff is None:
                    continue
                diff = diff["logit-gradient"] if protocol == "own" else diff
                sign = -1 if objective == "anti-score-matching" else +1
                rows.append(
                    _row(
                        f"{objective}: pixel-perturbation AUC {'worse' if sign < 0 else 'better'} "
                        f"than the baseline, {label} (Fig. 3)",
                        f"Δ AUC = {interval(diff, scale=100)} points",
                        _directional(diff, sign),
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
        before, after = f["fine_tune"]["before"], f["fine_tune"]["after"]
        rise = {k: after[k] - before[k] for k in before if k != "accuracy"}
        tempered = next(k for k in rise if k.startswith("loss_gradient_T"))
        rows.append(
            _row(
                "Loss-gradients resist saliency fooling: their energy in the mask rises by less "
                "than half the logit-gradients' (App. A)",
                f"rise {rise['loss_gradient']:+.3f} (loss) vs "
                f"{rise['logit_gradient']:+.3f} (logit)",
                "reproduced"
                if rise["loss_gradient"] < 0.5 * rise["logit_gradient"]
                else "not reproduced",
            )
        )
        rows.append(
            _row(
                "A high softmax temperature exposes loss-gradients to fooling (App. A)",
                f"energy after {after[tempered]:.3f} at T = {tempered.split('_T')[-1]} vs "
                f"{after['loss_gradient']:.3f} at T = 1",
                "reproduced" if after[tempered] > after["loss_gradient"] else "not reproduced",
            )
        )
    if not rows:
        return []
    return ["| claim (paper) | our numbers (95% CI) | verdict |", "|---|---|---|", *rows]


__all__ = ["verdict_lines"]
