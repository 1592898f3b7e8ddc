"""The discriminative pixel-perturbation test (§5.2.1, Fig. 3): replace the least relevant
pixels by the image mean and measure accuracy, (a) each model with its own saliency for every
method, (b) the fixed reference (baseline) model with every model's logit-gradients.

Correctness is kept per image, so each curve has Wilson intervals and each model's area under
the curve (mean accuracy over the removed fractions) is compared with the reference's by a
paired bootstrap over the same images.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.perturbation import perturbation_correct
from gradjax.evaluation.report_format import MISSING, interval, table_head, verdict_cell
from gradjax.evaluation.stats import mean_interval, paired_difference, proportion
from gradjax.saliency import PAPER_METHODS, SaliencyOptions, compiled_saliency


@functools.partial(jax.jit, static_argnums=0, static_argnames=("fill", "most_relevant_first"))
def correct_fn(
    apply_fn,
    params,
    x,
    y,
    relevance,
    fractions,
    *,
    fill="mean",
    most_relevant_first=False,
    key=None,
):
    return perturbation_correct(
        lambda z: apply_fn(params, z),
        x,
        y,
        relevance,
        fractions,
        fill=fill,
        most_relevant_first=most_relevant_first,
        key=key,
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    methods: tuple[str, ...] = PAPER_METHODS
    saliency: SaliencyOptions = SaliencyOptions()


def _curve(correct: np.ndarray) -> dict:
    """``(F, N)`` correctness to accuracies with intervals per fraction and the per-image AUC."""
    per_fraction = [proportion(c) for c in correct]
    return {
        "accuracy": [p["value"] for p in per_fraction],
        "low": [p["low"] for p in per_fraction],
        "high": [p["high"] for p in per_fraction],
        "auc": mean_interval(correct.mean(0)),
    }


def _correct_tables(ctx: EvalContext, run, method: str, settings: Settings):
    """``(F, N)`` correctness of ``run`` with its own ``method`` relevance, and (logit-gradient
    only, else ``None``) of the reference model with that relevance."""
    x, y = ctx.test_examples
    fractions = jnp.asarray(settings.fractions, jnp.float32)
    ref = ctx.reference
    mine, fixed = [], []
    for i, (xb, yb) in enumerate(ctx.batches(x, y)):
        key = jax.random.fold_in(ctx.key, i)
        rel = compiled_saliency(method, run.apply_fn, run.params, xb, yb, key, settings.saliency)
        mine.append(np.asarray(correct_fn(run.apply_fn, run.params, xb, yb, rel, fractions)))
        if method == "logit-gradient":
            fixed.append(np.asarray(correct_fn(ref.apply_fn, ref.params, xb, yb, rel, fractions)))
    return np.concatenate(mine, axis=1), (np.concatenate(fixed, axis=1) if fixed else None)


def measure(ctx: EvalContext, settings: Settings) -> Result:
    x, y = ctx.test_examples
    fractions = jnp.asarray(settings.fractions, jnp.float32)
    ref = ctx.reference
    own, by_reference = {}, {}
    total = len(ctx.runs) * len(settings.methods)
    with tqdm(total=total, desc="pixel perturbation", leave=False, disable=not ctx.progress) as bar:
        for run in ctx.runs:
            own[run.name] = {}
            for method in settings.methods:
                # One piece per run × method (minutes to an hour at CIFAR size): an interrupted
                # evaluation resumes from the last finished one.
                mine, fixed = ctx.memo(
                    f"{run.name}/{method}",
                    functools.partial(_correct_tables, ctx, run, method, settings),
                    settings=settings,
                    runs=[run, ref],
                )
                own[run.name][method] = mine
                if fixed is not None:
                    by_reference[run.name] = fixed
                bar.update(1)
    # A random ranking, for scale: the reference model with uniformly random relevance.
    random = np.concatenate(
        [
            np.asarray(
                correct_fn(
                    ref.apply_fn,
                    ref.params,
                    xb,
                    yb,
                    jax.random.uniform(jax.random.fold_in(ctx.key, 10_000 + i), xb.shape[:3]),
                    fractions,
                )
            )
            for i, (xb, yb) in enumerate(ctx.batches(x, y))
        ],
        axis=1,
    )

    def auc_difference(table, name, method=None):
        a = table[name] if method is None else table[name][method]
        b = table[ref.name] if method is None else table[ref.name][method]
        return paired_difference(a.mean(0), b.mean(0), seed=ctx.common.seed)

    others = [r.name for r in ctx.runs if r.name != ref.name]
    metrics = {
        "fractions": list(settings.fractions),
        "num_examples": int(len(x)),
        "reference": ref.name,
        "own": {n: {m: _curve(c) for m, c in methods.items()} for n, methods in own.items()},
        "by_reference": {n: _curve(c) for n, c in by_reference.items()},
        "random_order": _curve(random),
        "difference": {
            "own": {n: {m: auc_difference(own, n, m) for m in settings.methods} for n in others},
            "by_reference": {n: auc_difference(by_reference, n) for n in others if by_reference},
        },
    }
    xs = np.asarray(settings.fractions)
    xlabel = "fraction of least relevant pixels replaced by the image mean"
    written = []
    if by_reference:
        written.append(
            figures.line_plot(
                ctx.out / "perturbation_own.png",
                xs,
                {n: _band(m["logit-gradient"]) for n, m in metrics["own"].items()},
                xlabel=xlabel,
                ylabel="accuracy (95% CI)",
                title="Pixel perturbation, each model with its own logit-gradients",
            )
        )
        written.append(
            figures.line_plot(
                ctx.out / "perturbation_reference.png",
                xs,
                {
                    **{n: _band(c) for n, c in metrics["by_reference"].items()},
                    "random order": _band(metrics["random_order"]),
                },
                xlabel=xlabel,
                ylabel=f"accuracy of {ref.name} (95% CI)",
                title=f"Pixel perturbation, fixed model {ref.name!r}",
            )
        )
    for name, methods in metrics["own"].items():
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
    return Result(metrics, written)


def _band(curve: dict) -> dict:
    return {
        k: np.asarray(curve[v]) for k, v in (("mean", "accuracy"), ("low", "low"), ("high", "high"))
    }


def report(metrics: dict) -> list[str]:
    ref = metrics["reference"]
    diff = metrics["difference"]
    lines = [
        f"{metrics['num_examples']} test images; AUC = mean accuracy over the removed fractions "
        f"{metrics['fractions'][0]:g}–{metrics['fractions'][-1]:g} (higher: the saliency found "
        f"the pixels the classifier does not need). Differences to {ref!r} are paired.",
        "",
        "| model | AUC, own model, logit-gradient | Δ vs reference | verdict "
        "| AUC, fixed model | Δ vs reference | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, methods in metrics["own"].items():
        cells = (
            [name, interval(methods["logit-gradient"]["auc"])]
            if "logit-gradient" in methods
            else [name, MISSING]
        )
        d = diff["own"].get(name, {}).get("logit-gradient")
        cells += (
            [interval(d), verdict_cell(d, higher="better", lower="worse")]
            if d
            else ["(reference)", ""]
        )
        fixed = metrics["by_reference"].get(name)
        cells.append(interval(fixed["auc"]) if fixed else MISSING)
        d = diff["by_reference"].get(name)
        cells += (
            [interval(d), verdict_cell(d, higher="better", lower="worse")]
            if d
            else ["(reference)", ""]
        )
        lines.append("| " + " | ".join(cells) + " |")
    random_auc = metrics["random_order"]["auc"]
    lines += ["", f"Random order on the fixed model: AUC {interval(random_auc)}.", ""]
    methods = list(next(iter(metrics["own"].values())))
    lines += [
        "AUC per saliency method, each model with its own saliency:",
        "",
        *table_head(["model", *methods]),
    ]
    for name, table in metrics["own"].items():
        lines.append(f"| {name} | " + " | ".join(interval(table[m]["auc"]) for m in methods) + " |")
    return lines
