"""Saliency maps compared by the pixel-perturbation test (Srinivas & Fleuret, 2021, §6;
FullGrad: Srinivas & Fleuret, NeurIPS 2019, thesis ch. 3).

Gradient-based methods take ``logits_fn: (B, H, W, C) -> (B, classes)`` with examples
independent and return arrays of the input's shape; FullGrad needs the layers' biases, so it
takes a Flax ``apply_fn`` and its ``params``. :func:`compute_saliency` runs any method by name
and reduces it to a non-negative per-pixel relevance ``(B, H, W)`` (absolute values summed over
channels), the form the perturbation test ranks.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from gradjax.checks import check_choice, check_positive_int
from gradjax.gradients import LogitsFn, logit_gradients, loss_gradients, select_logits

SALIENCY_METHODS = (
    "logit-gradient",
    "loss-gradient",
    "gradient-x-input",
    "smoothgrad",
    "integrated-gradients",
    "fullgrad",
)


def gradient_x_input(logits_fn: LogitsFn, x: jax.Array, y: jax.Array) -> jax.Array:
    """``∇x f_y(x) ⊙ x``, the shape of ``x``."""
    return logit_gradients(logits_fn, x, y) * x


def smoothgrad(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    num_samples: int = 16,
    noise: float = 0.15,
) -> jax.Array:
    """SmoothGrad (Smilkov et al., 2017): mean of ``∇x f_y(x + ε)``, ``ε ~ N(0, noise²I)``.

    ``noise`` is in input units (pixels in [0, 1]: 0.15 is 15% of the range, the paper's
    default). Samples are mapped sequentially, so memory is that of one gradient.
    """
    check_positive_int(num_samples, "num_samples")
    keys = jax.random.split(key, num_samples)

    def one(k):
        eps = noise * jax.random.normal(k, x.shape, x.dtype)
        return logit_gradients(logits_fn, x + eps, y)

    return jnp.mean(jax.lax.map(one, keys), axis=0)


def integrated_gradients(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    *,
    baseline: jax.Array | None = None,
    steps: int = 32,
) -> jax.Array:
    """Integrated Gradients (Sundararajan et al., 2017) by the midpoint rule.

    ``(x − x₀) ⊙ mean_k ∇f_y(x₀ + (k + ½)/steps · (x − x₀))`` with baseline ``x₀`` (default
    zeros, a black image). Its sum over the input approaches ``f_y(x) − f_y(x₀)``
    (completeness) as ``steps`` grows.
    """
    check_positive_int(steps, "steps")
    baseline = jnp.zeros_like(x) if baseline is None else baseline
    alphas = (jnp.arange(steps, dtype=x.dtype) + 0.5) / steps

    def one(alpha):
        return logit_gradients(logits_fn, baseline + alpha * (x - baseline), y)

    return (x - baseline) * jnp.mean(jax.lax.map(one, alphas), axis=0)


def _lookup(tree, path):
    for name in path:
        if not isinstance(tree, dict) or name not in tree:
            return None
        tree = tree[name]
    return tree


def fullgrad_terms(
    apply_fn: Callable, params, x: jax.Array, y: jax.Array
) -> tuple[jax.Array, dict[tuple[str, ...], jax.Array]]:
    """The terms of the full-gradient decomposition of ``f_y`` (FullGrad, NeurIPS 2019).

    For every submodule with a ``bias`` parameter (Dense, Conv, GroupNorm), the bias-gradient
    term is ``∂f_y/∂z ⊙ b``, with ``z`` the module's output and ``b`` broadcast over its
    spatial axes. For a network that is piecewise linear in its input (ReLU, no
    normalisation), ``Σ input_term + Σ_layers Σ bias_term = f_y(x)`` exactly (completeness).

    Args:
      apply_fn: Flax ``apply(params, x) -> (B, classes)``, examples independent.
      params: its variables (``{"params": ...}``).
      x: ``(B, H, W, C)`` inputs; y: ``(B,)`` labels.

    Returns:
      ``(input_term, bias_terms)``: ``∇x f_y ⊙ x`` of the shape of ``x``, and
      ``{module path: (B, ..., channels) term}``.
    """
    weights = params["params"]

    def has_bias(context):
        module = context.module
        if context.method_name != "__call__" or not module.path:
            return False
        return isinstance(_lookup(weights, module.path), dict) and "bias" in _lookup(
            weights, module.path
        )

    def perturbed_logits(inputs, perturbations):
        def interceptor(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if has_bias(context):
                out = out + perturbations[context.module.path]
            return out

        with nn.intercept_methods(interceptor):
            return apply_fn(params, inputs)

    shapes = {}

    def recorder(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if has_bias(context):
            shapes[context.module.path] = jax.ShapeDtypeStruct(out.shape, out.dtype)
        return out

    def record(inputs):
        with nn.intercept_methods(recorder):
            return apply_fn(params, inputs)

    jax.eval_shape(record, x)
    zeros = {path: jnp.zeros(s.shape, s.dtype) for path, s in shapes.items()}

    def summed(inputs, perturbations):
        return jnp.sum(select_logits(perturbed_logits(inputs, perturbations), y))

    grad_x, grad_z = jax.grad(summed, argnums=(0, 1))(x, zeros)
    bias_terms = {path: g * _lookup(weights, path)["bias"] for path, g in grad_z.items()}
    return grad_x * x, bias_terms


def _normalised_map(term: jax.Array, size: tuple[int, int]) -> jax.Array:
    """FullGrad's post-processing: ``|·|``, min–max to [0, 1] per example, bilinear resize to
    the input's ``size``, summed over channels: ``(B, h, w, c) or (B, c) -> (B, H, W)``."""
    term = jnp.abs(term)
    if term.ndim == 2:  # dense layers: no spatial layout, spread uniformly
        term = term[:, None, None, :]
    lo = jnp.min(term, axis=(1, 2, 3), keepdims=True)
    hi = jnp.max(term, axis=(1, 2, 3), keepdims=True)
    term = (term - lo) / jnp.maximum(hi - lo, 1e-12)
    resized = jax.image.resize(term, (term.shape[0], *size, term.shape[-1]), "bilinear")
    return jnp.sum(resized, axis=-1)


def fullgrad(apply_fn: Callable, params, x: jax.Array, y: jax.Array) -> jax.Array:
    """FullGrad saliency ``(B, H, W)``: the normalised input term plus every convolutional
    bias term (dense layers carry no spatial information and are left out, as in FullGrad)."""
    input_term, bias_terms = fullgrad_terms(apply_fn, params, x, y)
    size = x.shape[1:3]
    total = _normalised_map(input_term, size)
    for term in bias_terms.values():
        if term.ndim == 4:
            total = total + _normalised_map(term, size)
    return total


def pixel_relevance(saliency: jax.Array) -> jax.Array:
    """``(B, H, W, C) -> (B, H, W)``: absolute values summed over channels."""
    return jnp.sum(jnp.abs(saliency), axis=-1)


def compute_saliency(
    method: str,
    apply_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    smoothgrad_samples: int = 16,
    ig_steps: int = 32,
) -> jax.Array:
    """Per-pixel relevance ``(B, H, W)`` of method ``method`` (one of :data:`SALIENCY_METHODS`).

    ``key`` is used by SmoothGrad only; ``smoothgrad_samples`` and ``ig_steps`` set the
    gradients SmoothGrad averages and the steps of Integrated Gradients. Labels ``y`` are the
    classes explained (usually the true ones).
    """
    check_choice(method, "saliency method", SALIENCY_METHODS)
    if method == "fullgrad":
        return fullgrad(apply_fn, params, x, y)

    def logits_fn(z):
        return apply_fn(params, z)

    if method == "logit-gradient":
        raw = logit_gradients(logits_fn, x, y)
    elif method == "loss-gradient":
        raw = loss_gradients(logits_fn, x, y)
    elif method == "gradient-x-input":
        raw = gradient_x_input(logits_fn, x, y)
    elif method == "smoothgrad":
        raw = smoothgrad(logits_fn, x, y, key, num_samples=smoothgrad_samples)
    else:
        raw = integrated_gradients(logits_fn, x, y, steps=ig_steps)
    return pixel_relevance(raw)


__all__ = [
    "SALIENCY_METHODS",
    "compute_saliency",
    "fullgrad",
    "fullgrad_terms",
    "gradient_x_input",
    "integrated_gradients",
    "pixel_relevance",
    "smoothgrad",
]
