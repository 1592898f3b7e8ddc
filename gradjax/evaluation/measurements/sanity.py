"""Randomisation sanity checks (Adebayo et al., 2018) for every saliency method on every model:
Spearman correlation between each image's saliency map and the map after randomising the top
``k`` layers (``k = 1 … L``, cascading), and after explaining a random other class. Values near
1 mean the method ignored what was destroyed; near 0, it depended on it."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.maths.randomisation import (
    layer_names,
    other_classes,
    randomise_top,
    spearman,
)
from gradjax.evaluation.report_format import interval
from gradjax.evaluation.saliency_methods import SALIENCY_METHODS, SaliencyOptions, compiled_saliency
from gradjax.evaluation.stats import mean_interval


@dataclasses.dataclass(frozen=True)
class Settings:
    num_examples: int = 200  # test images (the first of the shared draw)
    methods: tuple[str, ...] = tuple(SALIENCY_METHODS)
    saliency: SaliencyOptions = SaliencyOptions(fullgrad_class="label")


def measure(ctx: EvalContext, settings: Settings) -> Result:
    x, y = (a[: settings.num_examples] for a in ctx.test_examples)
    key = jax.random.fold_in(ctx.key, 7)
    other = other_classes(y, ctx.dataset.num_classes, key)
    runs = {}
    for run in ctx.runs:
        layers = layer_names(run.params)
        variants = [randomise_top(run.params, key, k) for k in range(1, len(layers) + 1)]
        table = {}
        for method in settings.methods:

            def maps(params, labels, method=method, run=run):
                return np.concatenate(
                    [
                        np.asarray(
                            compiled_saliency(
                                method, run.apply_fn, params, xb, yb, key, settings.saliency
                            )
                        )
                        for xb, yb in ctx.batches(x, labels)
                    ]
                )

            original = maps(run.params, y)
            cascade = [mean_interval(np.asarray(spearman(original, maps(p, y)))) for p in variants]
            table[method] = {
                "cascade": cascade,
                "random_logit": mean_interval(
                    np.asarray(spearman(original, maps(run.params, other)))
                ),
            }
        runs[run.name] = {"layers_from_top": layers[::-1], "methods": table}
    written = [
        figures.line_plot(
            ctx.out / f"sanity_cascade_{name}.png",
            np.arange(1, len(r["layers_from_top"]) + 1),
            {
                m: {"mean": np.asarray([c["value"] for c in t["cascade"]])}
                for m, t in r["methods"].items()
            },
            xlabel="top layers randomised",
            ylabel="Spearman with the original map",
            title=f"{name}: cascading randomisation",
        )
        for name, r in runs.items()
    ]
    return Result({"num_examples": int(len(x)), "runs": runs}, written)


def report(metrics: dict) -> list[str]:
    lines = [
        f"Spearman rank correlation of each of {metrics['num_examples']} test images' saliency "
        "map with the map after randomising all layers (cascade's last step) and after "
        "explaining a random other class (95% CI). Near 1: the map ignored what was changed.",
        "",
        "| model | method | all layers randomised | random other class |",
        "|---|---|---|---|",
    ]
    for name, run in metrics["runs"].items():
        for method, t in run["methods"].items():
            cascade, logit = interval(t["cascade"][-1]), interval(t["random_logit"])
            lines.append(f"| {name} | {method} | {cascade} | {logit} |")
    return lines
