"""The correctness tables of the pixel-perturbation measurements: which test images each model
still classifies correctly as pixels go, ranked by each model's own saliency, by the fixed
reference model, or at random. ``settings`` is a measurement's: ``fractions``, ``methods`` and
``saliency`` options."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gradjax.evaluation.context import EvalContext
from gradjax.evaluation.maths.pixel_perturbation import perturbation_correct
from gradjax.evaluation.saliency_methods import compiled_saliency


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


def correct_tables(ctx: EvalContext, run, method: str, settings):
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


def own_tables(ctx: EvalContext, settings) -> tuple[dict, dict]:
    """``(own, by_reference)``: ``own[run][method]`` the ``(F, N)`` correctness of each run
    with its own saliency, ``by_reference[run]`` that of the reference model with each run's
    logit-gradients."""
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
                    functools.partial(correct_tables, ctx, run, method, settings),
                    settings=settings,
                    runs=[run, ref],
                )
                own[run.name][method] = mine
                if fixed is not None:
                    by_reference[run.name] = fixed
                bar.update(1)
    return own, by_reference


def random_order(ctx: EvalContext, fractions) -> np.ndarray:
    """``(F, N)`` correctness of the reference model with uniformly random relevance: the
    fixed-model protocol's control."""
    x, y = ctx.test_examples
    ref = ctx.reference
    parts = []
    for i, (xb, yb) in enumerate(ctx.batches(x, y)):
        relevance = jax.random.uniform(jax.random.fold_in(ctx.key, 10_000 + i), xb.shape[:3])
        parts.append(np.asarray(correct_fn(ref.apply_fn, ref.params, xb, yb, relevance, fractions)))
    return np.concatenate(parts, axis=1)


__all__ = ["correct_fn", "correct_tables", "own_tables", "random_order"]
