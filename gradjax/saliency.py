"""Saliency maps compared by the pixel-perturbation test (Srinivas & Fleuret, 2021, §6) and
the attribution measurements (sanity checks, infidelity, max-sensitivity).

Gradient-based methods take ``logits_fn: (B, H, W, C) -> (B, classes)`` with examples
independent and return arrays of the input's shape; FullGrad (:mod:`gradjax.fullgrad`) needs the
network's layers, so it takes a Flax ``apply_fn`` and its ``params``. The registry
:data:`SALIENCY_METHODS` maps each name to ``(apply_fn, params, x, y, key, options) ->
(B, H, W, C')`` attribution maps: the signed map of the input's shape (``C' = C``) for the
gradient methods, FullGrad's non-negative per-pixel map for FullGrad (``C' = 1``).
:func:`compute_attribution` returns those; :func:`compute_saliency` reduces them to the
non-negative per-pixel relevance ``(B, H, W)`` that the perturbation test ranks.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.checks import check_choice, check_positive_int
from gradjax.fullgrad import fullgrad
from gradjax.gradients import LogitsFn, logit_gradients, loss_gradients
from gradjax.loops import resolve_unroll


def gradient_x_input(logits_fn: LogitsFn, x: jax.Array, y: jax.Array) -> jax.Array:
    """``∇x f_y(x) ⊙ x``, the shape of ``x``."""
    return logit_gradients(logits_fn, x, y) * x


def noisy_gradient_moments(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    num_samples: int = 16,
    noise: float = 0.15,
    unroll: bool | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Mean and (biased) variance over ``ε ~ N(0, noise²I)`` of ``g = ∇x f_y(x + ε)``, each of
    the input's shape, from ``num_samples`` draws.

    ``noise`` is in input units (pixels in [0, 1]: 0.15 is 15% of the range, SmoothGrad's
    default). The draws are scanned with Welford's update, so memory is that of a few gradients
    whatever ``num_samples`` is, and the variance has no ``E[g²] − E[g]²`` cancellation.
    ``unroll``: unroll the scan (default: on CPU, :mod:`gradjax.loops`).
    """
    check_positive_int(num_samples, "num_samples")

    def step(carry, k):
        count, mean, m2 = carry
        g = logit_gradients(logits_fn, x + noise * jax.random.normal(k, x.shape, x.dtype), y)
        count = count + 1
        delta = g - mean
        mean = mean + delta / count
        return (count, mean, m2 + delta * (g - mean)), None

    zeros = jnp.zeros_like(x)
    init = (jnp.zeros((), x.dtype), zeros, zeros)
    (_, mean, m2), _ = jax.lax.scan(
        step, init, jax.random.split(key, num_samples), unroll=resolve_unroll(unroll, num_samples)
    )
    return mean, m2 / num_samples


def smoothgrad(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """SmoothGrad (Smilkov et al., 2017): ``E[∇x f_y(x + ε)]``; keywords as
    :func:`noisy_gradient_moments`."""
    return noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)[0]


def smoothgrad_squared(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """SmoothGrad² (Hooker et al., 2019): ``E[(∇x f_y(x + ε))²]`` = mean² + variance."""
    mean, var = noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)
    return mean**2 + var


def vargrad(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, key: jax.Array, **noise_kw):
    """VarGrad (Adebayo et al., 2018): ``Var[∇x f_y(x + ε)]``, element-wise. For a model whose
    logit is quadratic in x it is independent of x (``noise²·diag(HHᵀ)``): it shows the
    curvature, not the input."""
    return noisy_gradient_moments(logits_fn, x, y, key, **noise_kw)[1]


def integrated_gradients(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    *,
    baseline: jax.Array | None = None,
    steps: int = 32,
    unroll: bool | None = None,
) -> jax.Array:
    """Integrated Gradients (Sundararajan et al., 2017) by the midpoint rule.

    ``(x − x₀) ⊙ mean_k ∇f_y(x₀ + (k + ½)/steps · (x − x₀))`` with baseline ``x₀`` (default
    zeros, a black image). Its sum over the input approaches ``f_y(x) − f_y(x₀)``
    (completeness) as ``steps`` grows. ``unroll``: unroll the loop over the steps (default: on
    CPU, :mod:`gradjax.loops`).
    """
    check_positive_int(steps, "steps")
    baseline = jnp.zeros_like(x) if baseline is None else baseline
    alphas = (jnp.arange(steps, dtype=x.dtype) + 0.5) / steps

    def add(total, alpha):
        return total + logit_gradients(logits_fn, baseline + alpha * (x - baseline), y), None

    total, _ = jax.lax.scan(add, jnp.zeros_like(x), alphas, unroll=resolve_unroll(unroll, steps))
    return (x - baseline) * total / steps


def pixel_relevance(saliency: jax.Array) -> jax.Array:
    """``(B, H, W, C) -> (B, H, W)``: absolute values summed over channels."""
    return jnp.sum(jnp.abs(saliency), axis=-1)


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
    "gradient_x_input",
    "integrated_gradients",
    "noisy_gradient_moments",
    "pixel_relevance",
    "smoothgrad",
    "smoothgrad_squared",
    "vargrad",
]
