"""The pixel-perturbation test beyond the paper's protocol: every fill of
:data:`gradjax.evaluation.maths.fills.FILLS` (mean colour, black, noise, blur, ROAD's noisy linear
imputation) and both orders (least relevant first, as the paper; most relevant first), for
every saliency method on every model with its own saliency. Each cell is the area under the
accuracy curve (mean accuracy over the removed fractions) with a 95% interval; the
logit-gradient AUC of every model is compared with the reference's, paired on the same images,
for every fill and order: does a difference the paper's protocol shows survive another fill?
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gradjax.core.checks import check_choice
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.fills import FILLS
from gradjax.evaluation.measurements.perturbation_tables import correct_fn
from gradjax.evaluation.report_format import interval, table_head, verdict_cell
from gradjax.evaluation.saliency_methods import SALIENCY_METHODS, SaliencyOptions, compiled_saliency
from gradjax.evaluation.stats import mean_interval, paired_difference

ORDERS = {"least": False, "most": True}  # name -> most_relevant_first


@dataclasses.dataclass(frozen=True)
class Settings:
    num_examples: int = 1000  # test images (the first of the shared draw)
    fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    methods: tuple[str, ...] = tuple(SALIENCY_METHODS)
    fills: tuple[str, ...] = tuple(FILLS)
    orders: tuple[str, ...] = tuple(ORDERS)
    saliency: SaliencyOptions = SaliencyOptions()


def measure(ctx: EvalContext, settings: Settings) -> Result:
    for order in settings.orders:
        check_choice(order, "order", ORDERS)
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    fractions = jnp.asarray(settings.fractions, jnp.float32)
    cells = [(f, o) for f in settings.fills for o in settings.orders]
    # per_image[run][fill][order][method]: (N,) mean accuracy over the fractions
    per_image = {
        r.name: {f: {o: {} for o in settings.orders} for f in settings.fills} for r in ctx.runs
    }
    total = len(ctx.runs) * len(settings.methods)
    with tqdm(total=total, desc="perturbation fills", leave=False, disable=not ctx.progress) as bar:
        for run in ctx.runs:
            for method in settings.methods:
                parts = {cell: [] for cell in cells}
                for i, (xb, yb) in enumerate(ctx.batches(x, y)):
                    key = jax.random.fold_in(jax.random.fold_in(ctx.key, 13), i)
                    rel = compiled_saliency(
                        method, run.apply_fn, run.params, xb, yb, key, settings.saliency
                    )
                    for fill, order in cells:
                        correct = correct_fn(
                            run.apply_fn,
                            run.params,
                            xb,
                            yb,
                            rel,
                            fractions,
                            fill=fill,
                            most_relevant_first=ORDERS[order],
                            key=jax.random.fold_in(key, 1),
                        )
                        parts[fill, order].append(np.asarray(correct).mean(0))
                for fill, order in cells:
                    per_image[run.name][fill][order][method] = np.concatenate(parts[fill, order])
                bar.update(1)
    ref = ctx.reference.name
    auc = {
        name: {
            f: {
                o: {m: mean_interval(v) for m, v in by_method.items()}
                for o, by_method in by_order.items()
            }
            for f, by_order in by_fill.items()
        }
        for name, by_fill in per_image.items()
    }
    difference = {}
    if "logit-gradient" in settings.methods:
        difference = {
            name: {
                f: {
                    o: paired_difference(
                        per_image[name][f][o]["logit-gradient"],
                        per_image[ref][f][o]["logit-gradient"],
                        seed=ctx.common.seed,
                    )
                    for o in settings.orders
                }
                for f in settings.fills
            }
            for name in per_image
            if name != ref
        }
    metrics = {
        "num_examples": int(len(x)),
        "fractions": list(settings.fractions),
        "reference": ref,
        "auc": auc,
        "logit_gradient_difference": difference,
    }
    return Result(metrics)


def report(metrics: dict) -> list[str]:
    auc = metrics["auc"]
    first = next(iter(auc.values()))
    fills = list(first)
    orders = list(first[fills[0]])
    methods = list(first[fills[0]][orders[0]])
    lines = [
        f"{metrics['num_examples']} test images, each model with its own saliency; AUC = mean "
        f"accuracy over the removed fractions {metrics['fractions'][0]:g}–"
        f"{metrics['fractions'][-1]:g}. Least relevant first: higher is better; most relevant "
        "first: lower is better.",
    ]
    diff = metrics["logit_gradient_difference"]
    if diff:
        lines += [
            "",
            f"Logit-gradient AUC minus {metrics['reference']!r}'s, paired (95% CI):",
            "",
            *table_head(["model", "order", *fills]),
        ]
        for name, by_fill in diff.items():
            for o in orders:
                better, worse = ("better", "worse") if o == "least" else ("worse", "better")
                cells = " | ".join(
                    interval(d) + " " + verdict_cell(d, higher=better, lower=worse)
                    for d in (by_fill[f][o] for f in fills)
                )
                lines.append(f"| {name} | {o} first | {cells} |")
    for o in orders:
        lines += [
            "",
            f"AUC, {o} relevant first:",
            "",
            *table_head(["model", "fill", *methods]),
        ]
        for name, by_fill in auc.items():
            for f in fills:
                cells = " | ".join(interval(by_fill[f][o][m]) for m in methods)
                lines.append(f"| {name} | {f} | {cells} |")
    return lines
