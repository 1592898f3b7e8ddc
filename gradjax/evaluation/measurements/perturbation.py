"""The discriminative pixel-perturbation test (§5.2.1, Fig. 3): replace the least relevant
pixels by the image mean and measure accuracy, (a) each model with its own saliency for every
method, (b) the fixed reference (baseline) model with every model's logit-gradients.

Correctness is kept per image, so each curve has Wilson intervals and each model's area under
the curve (mean accuracy over the removed fractions) is compared with the reference's by a
paired bootstrap over the same images.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.claims import Verdict
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.pixel_perturbation import NORMALISED_RANGE, normalised_auc_statistic
from gradjax.evaluation.measurements.perturbation_tables import own_tables, random_order
from gradjax.evaluation.report_format import MISSING, interval, table_head, verdict_cell
from gradjax.evaluation.saliency_methods import PAPER_METHODS, SaliencyOptions
from gradjax.evaluation.stats import (
    bootstrap_interval,
    mean_interval,
    paired_difference,
    proportion,
)


@dataclasses.dataclass(frozen=True)
class Settings:
    fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    # The paper's six methods and a random ranking, the control every curve is read against.
    methods: tuple[str, ...] = (*PAPER_METHODS, "random")
    saliency: SaliencyOptions = SaliencyOptions()


def _curve(correct: np.ndarray, fractions, seed: int) -> dict:
    """``(F, N)`` correctness to accuracies with intervals per fraction, the per-image AUC over
    all fractions and, when fraction 0 is among them, the normalised AUC."""
    per_fraction = [proportion(c) for c in correct]
    curve = {
        "accuracy": [p["value"] for p in per_fraction],
        "low": [p["low"] for p in per_fraction],
        "high": [p["high"] for p in per_fraction],
        "auc": mean_interval(correct.mean(0)),
    }
    if 0 in fractions:
        statistic = normalised_auc_statistic(fractions)
        curve["normalised_auc"] = bootstrap_interval(
            correct.astype(np.float64), statistic=statistic, seed=seed
        )
    return curve


def _differences(a: np.ndarray, b: np.ndarray, fractions, seed: int) -> dict:
    """Paired AUC difference (and normalised AUC difference, when defined) of two ``(F, N)``
    correctness tables on the same images."""
    out = paired_difference(a.mean(0), b.mean(0), seed=seed)
    if 0 in fractions:
        statistic = normalised_auc_statistic(fractions)
        out["normalised_auc"] = paired_difference(
            a.astype(np.float64), b.astype(np.float64), statistic=statistic, seed=seed
        )
    return out


def measure(ctx: EvalContext, settings: Settings) -> Result:
    x, _ = ctx.test_examples
    fractions = list(settings.fractions)
    seed, ref = ctx.common.seed, ctx.reference.name
    own, by_reference = own_tables(ctx, settings)
    random = random_order(ctx, jnp.asarray(fractions, jnp.float32))
    others = [r.name for r in ctx.runs if r.name != ref]
    metrics = {
        "fractions": fractions,
        "num_examples": int(len(x)),
        "reference": ref,
        "own": {
            n: {m: _curve(c, fractions, seed) for m, c in methods.items()}
            for n, methods in own.items()
        },
        "by_reference": {n: _curve(c, fractions, seed) for n, c in by_reference.items()},
        "random_order": _curve(random, fractions, seed),
        "difference": {
            "own": {
                n: {
                    m: _differences(own[n][m], own[ref][m], fractions, seed)
                    for m in settings.methods
                }
                for n in others
            },
            "by_reference": {
                n: _differences(by_reference[n], by_reference[ref], fractions, seed)
                for n in others
                if by_reference
            },
        },
    }
    return Result(metrics, _figures(ctx, metrics))


def _figures(ctx: EvalContext, metrics: dict) -> list:
    """Each model's own logit-gradient curve beside its random-ranking control; the fixed
    model's curves beside its random order; each model's curve per method."""
    xs = np.asarray(metrics["fractions"])
    ref = metrics["reference"]
    xlabel = "fraction of least relevant pixels replaced by the image mean"
    written = []
    own = metrics["own"]
    if all("logit-gradient" in m for m in own.values()):
        bands = {n: _band(m["logit-gradient"]) for n, m in own.items()}
        bands |= {
            f"{n}, random ranking": _band(m["random"]) for n, m in own.items() if "random" in m
        }
        written.append(
            figures.line_plot(
                ctx.out / "perturbation_own.png",
                xs,
                bands,
                xlabel=xlabel,
                ylabel="accuracy (95% CI)",
                title="Pixel perturbation, each model with its own logit-gradients",
            )
        )
    if metrics["by_reference"]:
        written.append(
            figures.line_plot(
                ctx.out / "perturbation_reference.png",
                xs,
                {
                    **{n: _band(c) for n, c in metrics["by_reference"].items()},
                    "random order": _band(metrics["random_order"]),
                },
                xlabel=xlabel,
                ylabel=f"accuracy of {ref} (95% CI)",
                title=f"Pixel perturbation, fixed model {ref!r}",
            )
        )
    for name, methods in own.items():
        written.append(
            figures.line_plot(
                ctx.out / f"perturbation_methods_{name}.png",
                xs,
                {m: {"mean": np.asarray(c["accuracy"])} for m, c in methods.items()},
                xlabel=xlabel,
                ylabel="accuracy",
                title=f"{name}: saliency methods",
            )
        )
    return written


def _band(curve: dict) -> dict:
    return {
        k: np.asarray(curve[v]) for k, v in (("mean", "accuracy"), ("low", "low"), ("high", "high"))
    }


def _cells(curve: dict | None, diff: dict | None, reference: bool) -> list[str]:
    """AUC, its Δ and verdict, normalised AUC and its Δ, for one curve."""
    if curve is None:
        return [MISSING] * 5
    norm = curve.get("normalised_auc")
    cells = [interval(curve["auc"])]
    if reference or diff is None:
        cells += ["(reference)" if reference else MISSING, ""]
    else:
        cells += [interval(diff), verdict_cell(diff, higher="better", lower="worse")]
    cells.append(interval(norm) if norm else MISSING)
    d = (diff or {}).get("normalised_auc")
    cells.append("(reference)" if reference else interval(d) if d else MISSING)
    return cells


def report(metrics: dict) -> list[str]:
    ref = metrics["reference"]
    diff = metrics["difference"]
    fractions = metrics["fractions"]
    head = [
        "AUC",
        "Δ vs reference",
        "verdict",
        f"normalised AUC, {NORMALISED_RANGE[0]:g}–{NORMALISED_RANGE[1]:g}",
        "Δ",
    ]
    lines = [
        f"{metrics['num_examples']} test images. AUC: mean accuracy over the removed fractions "
        f"{fractions[0]:g}–{fractions[-1]:g} (the paper's; it includes clean accuracy); "
        f"normalised AUC: mean accuracy over {NORMALISED_RANGE[0]:g}–{NORMALISED_RANGE[1]:g} "
        "divided by clean accuracy (bootstrap interval). Higher: the saliency found the pixels "
        f"the classifier does not need. Differences to {ref!r} are paired. The random ranking "
        "is the control: a saliency no better than it ranks pixels no better than chance.",
        "",
        "(a) Each model with its own saliency:",
        "",
        *table_head(["model", "saliency", *head]),
    ]
    for name, methods in metrics["own"].items():
        for method in ("logit-gradient", "random"):
            if method not in methods:
                continue
            d = diff["own"].get(name, {}).get(method)
            cells = _cells(methods[method], d, name == ref)
            lines.append(f"| {name} | {method} | " + " | ".join(cells) + " |")
    lines += ["", f"(b) The fixed model {ref!r} with each model's logit-gradients:", ""]
    lines += table_head(["ranking from", *head])
    for name, curve in metrics["by_reference"].items():
        cells = _cells(curve, diff["by_reference"].get(name), name == ref)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(
        "| random order | " + " | ".join(_cells(metrics["random_order"], None, False)) + " |"
    )
    methods = list(next(iter(metrics["own"].values())))
    lines += [
        "",
        "AUC per saliency method, each model with its own saliency:",
        "",
        *table_head(["model", *methods]),
    ]
    for name, table in metrics["own"].items():
        lines.append(f"| {name} | " + " | ".join(interval(table[m]["auc"]) for m in methods) + " |")
    return lines


def _record(out: dict, keys: tuple[str, str], name: str, curve: dict, difference) -> None:
    """Store one run's AUC (``keys[0]``) and, where kept, its normalised AUC (``keys[1]``),
    each with the image-level interval and the paired difference from the reference run."""
    out[keys[0]][name] = {
        "value": curve["auc"]["value"],
        "image": curve["auc"],
        "difference": difference,
    }
    if "normalised_auc" in curve:
        out[keys[1]][name] = {
            "value": curve["normalised_auc"]["value"],
            "image": curve["normalised_auc"],
            "difference": difference and difference.get("normalised_auc"),
        }


def quantities(metrics: dict) -> dict:
    """Per run: the logit-gradient AUC with its own model (``auc_own``) and with the fixed
    model (``auc_fixed``), their normalised AUCs, and ``own_minus_random``, the own AUC's
    margin over the same model's random ranking."""
    out = {
        k: {}
        for k in ("auc_own", "auc_fixed", "normalised_own", "normalised_fixed", "own_minus_random")
    }
    diff = metrics["difference"]
    for name, methods in metrics["own"].items():
        if "logit-gradient" not in methods:
            continue
        mine = methods["logit-gradient"]
        d = diff["own"].get(name, {}).get("logit-gradient")
        _record(out, ("auc_own", "normalised_own"), name, mine, d)
        if "random" in methods:
            margin = mine["auc"]["value"] - methods["random"]["auc"]["value"]
            out["own_minus_random"][name] = {"value": margin}
    for name, curve in metrics["by_reference"].items():
        _record(out, ("auc_fixed", "normalised_fixed"), name, curve, diff["by_reference"].get(name))
    return {k: v for k, v in out.items() if v}


VERDICTS = (
    Verdict(
        "perturbation",
        "baseline: its logit-gradients rank pixels better than a random ranking (AUC margin)",
        "own_minus_random",
        None,
        +1,
        scale=100,
        unit=" points",
        paper="implied (§5.2.1)",
    ),
    *(
        Verdict(
            "perturbation",
            f"{objective}: pixel-perturbation AUC {'worse' if sign < 0 else 'better'} than the "
            f"baseline's, {label}",
            quantity,
            objective,
            sign,
            beside=beside,
            scale=100,
            unit=" points",
            paper=f"{'worse' if sign < 0 else 'better'} (Fig. 3{panel})",
        )
        for quantity, beside, label, panel in (
            ("auc_own", "normalised_own", "own model", "a"),
            ("auc_fixed", "normalised_fixed", "fixed baseline model", "b"),
        )
        for objective, sign in (
            ("score-matching", +1),
            ("gradient-norm", +1),
            ("anti-score-matching", -1),
        )
    ),
)
