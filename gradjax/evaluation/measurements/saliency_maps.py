"""Figures: logit- and loss-gradient maps of every model beside the same test images, and every
saliency method on the reference model. Shows dataset images, so skipped when
``common.dataset_figures`` is off."""

from __future__ import annotations

import dataclasses

import numpy as np

from gradjax.evaluation import figures
from gradjax.evaluation.context import EvalContext, Result
from gradjax.evaluation.saliency_methods import SALIENCY_METHODS, SaliencyOptions, compiled_saliency


@dataclasses.dataclass(frozen=True)
class Settings:
    shown_examples: int = 8
    methods: tuple[str, ...] = tuple(SALIENCY_METHODS)
    saliency: SaliencyOptions = SaliencyOptions()


def measure(ctx: EvalContext, settings: Settings) -> Result:
    if not ctx.common.dataset_figures:
        return Result({"skipped": "dataset_figures is off"})
    x, y = (a[: settings.shown_examples] for a in ctx.test_examples)
    images = np.asarray(x)
    ref = ctx.reference

    def relevance(method, run):
        return np.asarray(
            compiled_saliency(method, run.apply_fn, run.params, x, y, ctx.key, settings.saliency)
        )

    maps = {
        kind: {run.name: relevance(method, run) for run in ctx.runs}
        for kind, method in (("logit", "logit-gradient"), ("loss", "loss-gradient"))
    }
    methods = {m: relevance(m, ref) for m in settings.methods}
    written = [
        figures.maps_beside_images(
            ctx.out / "logit_gradients.png", images, maps["logit"], "|∇x f_y| per model"
        ),
        figures.maps_beside_images(
            ctx.out / "loss_gradients.png", images, maps["loss"], "|∇x CE| per model"
        ),
        figures.maps_beside_images(
            ctx.out / "saliency_methods.png", images, methods, f"{ref.name}: methods"
        ),
    ]
    return Result({}, written)


def report(metrics: dict) -> list[str]:
    return [f"Skipped: {metrics['skipped']}."] if "skipped" in metrics else []
