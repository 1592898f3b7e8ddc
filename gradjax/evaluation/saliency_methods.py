"""The saliency methods the measurements compare (the pixel-perturbation test of Srinivas &
Fleuret, 2021, §5.2.1, the sanity checks, infidelity and max-sensitivity), as one registry.

:data:`SALIENCY_METHODS` maps each name to ``(apply_fn, params, x, y, key, options) ->
(B, H, W, C')`` attribution maps: the signed map of the input's shape (``C' = C``) for the
gradient methods of :mod:`gradjax.core.saliency`, FullGrad's non-negative per-pixel map for
FullGrad (``C' = 1``; :mod:`gradjax.models.fullgrad`, which needs the Flax model's layers), and
``"random"``, a uniformly random ranking: the control every ranking is read against.
:func:`compute_attribution` returns those; :func:`compute_saliency` reduces them to the
non-negative per-pixel relevance ``(B, H, W)`` that the perturbation test ranks.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_choice
from gradjax.core.gradients import logit_gradients, loss_gradients
from gradjax.core.saliency import (
    gradient_x_input,
    integrated_gradients,
    pixel_relevance,
    smoothgrad,
    smoothgrad_squared,
    vargrad,
)
from gradjax.models.fullgrad import fullgrad


@dataclasses.dataclass(frozen=True)
class SaliencyOptions:
    """Constants of the methods: the SmoothGrad family's samples and noise (input units, pixels in
    [0, 1]), Integrated Gradients' steps, and which class FullGrad explains (``"predicted"``
    as the reference implementation does, or ``"label"``)."""

    smoothgrad_samples: int = 16
    smoothgrad_noise: float = 0.15
    ig_steps: int = 32
    fullgrad_class: str = "predicted"


def _with_logits(method):
    """Lifts ``method(logits_fn, x, y, key, options) -> (B, H, W, C)`` to the registry's
    signature."""

    def attribution(apply_fn, params, x, y, key, options):
        return method(functools.partial(apply_fn, params), x, y, key, options)

    return attribution


def _noisy(method):
    """A SmoothGrad-family ``method`` with the options' sample count and noise."""
    return _with_logits(
        lambda f, x, y, k, o: method(
            f, x, y, k, num_samples=o.smoothgrad_samples, noise=o.smoothgrad_noise
        )
    )


def _fullgrad(apply_fn, params, x, y, key, options):
    del key
    check_choice(options.fullgrad_class, "FullGrad class", ("predicted", "label"))
    if options.fullgrad_class == "predicted":
        y = jnp.argmax(apply_fn(params, x), axis=-1).astype(y.dtype)
    return fullgrad(apply_fn, params, x, y)[..., None]


def random_ranking(apply_fn, params, x, y, key, options):
    """A per-pixel map drawn uniformly at random from ``key``, ``(B, H, W, 1)``: the ranking
    chance gives, against which every saliency method's perturbation curve is read (its
    expected curve is what removing pixels in no particular order costs the classifier)."""
    del apply_fn, params, y, options
    return jax.random.uniform(key, (*x.shape[:-1], 1), x.dtype)


SALIENCY_METHODS: dict[str, Callable] = {
    "logit-gradient": _with_logits(lambda f, x, y, k, o: logit_gradients(f, x, y)),
    "loss-gradient": _with_logits(lambda f, x, y, k, o: loss_gradients(f, x, y)),
    "gradient-x-input": _with_logits(lambda f, x, y, k, o: gradient_x_input(f, x, y)),
    "smoothgrad": _noisy(smoothgrad),
    "smoothgrad-squared": _noisy(smoothgrad_squared),
    "vargrad": _noisy(vargrad),
    "integrated-gradients": _with_logits(
        lambda f, x, y, k, o: integrated_gradients(f, x, y, steps=o.ig_steps)
    ),
    "fullgrad": _fullgrad,
    "random": random_ranking,
}

# The six methods of the paper's pixel-perturbation comparison (§6, Fig. 3), in its order.
PAPER_METHODS = (
    "logit-gradient",
    "loss-gradient",
    "gradient-x-input",
    "smoothgrad",
    "integrated-gradients",
    "fullgrad",
)


def compute_attribution(
    method: str,
    apply_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    options: SaliencyOptions = SaliencyOptions(),
) -> jax.Array:
    """Attribution map ``(B, H, W, C')`` of ``method`` (one of :data:`SALIENCY_METHODS`):
    signed, of the input's shape, for the gradient methods; FullGrad's non-negative per-pixel
    map with ``C' = 1``.

    Every method is ``(apply_fn, params, x, y, key, options) -> (B, H, W, C')``; adding one is
    one function and one line in the registry. ``y`` holds the classes explained (the true ones
    for the gradient methods; FullGrad follows ``options.fullgrad_class``); ``key`` is used by
    the SmoothGrad family only (pass the same key to compare maps at nearby inputs).
    """
    check_choice(method, "saliency method", SALIENCY_METHODS)
    return SALIENCY_METHODS[method](apply_fn, params, x, y, key, options)


def compute_saliency(
    method: str,
    apply_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    options: SaliencyOptions = SaliencyOptions(),
) -> jax.Array:
    """Per-pixel relevance ``(B, H, W)``: :func:`compute_attribution` reduced by
    :func:`pixel_relevance`."""
    return pixel_relevance(compute_attribution(method, apply_fn, params, x, y, key, options))


compiled_saliency = jax.jit(compute_saliency, static_argnums=(0, 1, 6))
""":func:`compute_saliency` compiled, with ``method``, ``apply_fn`` and ``options`` static
(hashable): one compilation per method, architecture, options and batch shape, so runs of one
architecture (:func:`gradjax.models.make_model` is cached) share it and pass their parameters."""


__all__ = [
    "PAPER_METHODS",
    "SALIENCY_METHODS",
    "SaliencyOptions",
    "compiled_saliency",
    "compute_attribution",
    "compute_saliency",
    "random_ranking",
]
