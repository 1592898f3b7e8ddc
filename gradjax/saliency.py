"""Saliency maps compared by the pixel-perturbation test (Srinivas & Fleuret, 2021, §6;
FullGrad: Srinivas & Fleuret, NeurIPS 2019, thesis ch. 3).

Gradient-based methods take ``logits_fn: (B, H, W, C) -> (B, classes)`` with examples
independent and return arrays of the input's shape; FullGrad needs the network's layers, so it
takes a Flax ``apply_fn`` and its ``params``. The registry :data:`SALIENCY_METHODS` maps each
name to ``(apply_fn, params, x, y, key, options) -> (B, H, W)`` non-negative per-pixel relevance
(absolute values summed over channels), the form the perturbation test ranks.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from gradjax.checks import check_choice, check_positive_int
from gradjax.gradients import LogitsFn, logit_gradients, loss_gradients, select_logits


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


def _leaf_outputs(apply_fn: Callable, params, x: jax.Array) -> dict[tuple[str, ...], object]:
    """Output shapes of the leaf modules (modules that call no other module) of one apply."""
    stack, calls = [], {}

    def recorder(next_fun, args, kwargs, context):
        path = context.module.path
        if context.method_name != "__call__" or not path:
            return next_fun(*args, **kwargs)
        if stack:
            calls[stack[-1]]["leaf"] = False
        stack.append(path)
        calls[path] = {"leaf": True}
        out = next_fun(*args, **kwargs)
        stack.pop()
        calls[path]["shape"] = jax.ShapeDtypeStruct(out.shape, out.dtype)
        return out

    def record(inputs):
        with nn.intercept_methods(recorder):
            return apply_fn(params, inputs)

    jax.eval_shape(record, x)
    return {path: c["shape"] for path, c in calls.items() if c["leaf"]}


def fullgrad_terms(
    apply_fn: Callable, params, x: jax.Array, y: jax.Array
) -> tuple[jax.Array, dict[tuple[str, ...], jax.Array]]:
    """The full-gradient decomposition of ``f_y`` (FullGrad, NeurIPS 2019; thesis ch. 3).

    Every leaf module ``o = L(z)`` of the network is written as its linearisation at the
    input, ``o = J z + b``, with ``b = L(z) − J z`` its bias: the explicit bias of a Dense or
    Conv layer, and the *implicit* bias of a non-linear one (``softplus(z) − z·softplus'(z)``
    for an activation, the input-dependent part of a per-example normalisation). The chain
    rule then gives completeness for any network built from such modules and linear glue
    (residual sums, pooling, reshapes; max-pooling and ReLU are homogeneous, bias 0)::

        Σ input_term + Σ_modules Σ bias_term = f_y(x),  input_term = ∇x f_y ⊙ x,
        bias_term = ∂f_y/∂o ⊙ b.

    ``J z`` is one ``jax.jvp`` per module. Non-linear operations outside modules (e.g. a plain
    ``jax.nn.softplus`` call) would break completeness: gradjax's models wrap activations in
    :class:`gradjax.models.Activation` for that reason.

    Args:
      apply_fn: Flax ``apply(params, x) -> (B, classes)``, examples independent.
      params: its variables (``{"params": ...}``).
      x: ``(B, H, W, C)`` inputs; y: ``(B,)`` classes explained.

    Returns:
      ``(input_term, bias_terms)``: ``∇x f_y ⊙ x`` of the shape of ``x``, and
      ``{module path: (B, ..., channels) term}``.
    """
    leaves = _leaf_outputs(apply_fn, params, x)
    zeros = {path: jnp.zeros(s.shape, s.dtype) for path, s in leaves.items()}

    def summed(inputs, perturbations):
        biases = {}

        def interceptor(next_fun, args, kwargs, context):
            path = context.module.path
            if context.method_name != "__call__" or path not in perturbations:
                return next_fun(*args, **kwargs)
            z = args[0]
            out, linear = jax.jvp(lambda a: next_fun(a, *args[1:], **kwargs), (z,), (z,))
            biases[path] = out - linear
            return out + perturbations[path]

        with nn.intercept_methods(interceptor):
            logits = apply_fn(params, inputs)
        return jnp.sum(select_logits(logits, y)), biases

    (grad_x, grad_z), biases = jax.grad(summed, argnums=(0, 1), has_aux=True)(x, zeros)
    bias_terms = {path: grad_z[path] * jax.lax.stop_gradient(biases[path]) for path in leaves}
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
    """FullGrad saliency ``(B, H, W)``: the normalised input term plus every spatial bias term
    (dense layers carry no spatial information and are left out, as in FullGrad)."""
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


@dataclasses.dataclass(frozen=True)
class SaliencyOptions:
    """Constants of the methods: SmoothGrad's samples and noise (input units, pixels in
    [0, 1]), Integrated Gradients' steps, and which class FullGrad explains (``"predicted"``
    as the reference implementation does, or ``"label"``)."""

    smoothgrad_samples: int = 16
    smoothgrad_noise: float = 0.15
    ig_steps: int = 32
    fullgrad_class: str = "predicted"


def _with_logits(method):
    """Lifts ``method(logits_fn, x, y, key, options) -> (B, H, W, C)`` to the registry's
    signature, reduced to per-pixel relevance."""

    def saliency(apply_fn, params, x, y, key, options):
        return pixel_relevance(method(functools.partial(apply_fn, params), x, y, key, options))

    return saliency


def _fullgrad(apply_fn, params, x, y, key, options):
    del key
    check_choice(options.fullgrad_class, "FullGrad class", ("predicted", "label"))
    if options.fullgrad_class == "predicted":
        y = jnp.argmax(apply_fn(params, x), axis=-1).astype(y.dtype)
    return fullgrad(apply_fn, params, x, y)


SALIENCY_METHODS: dict[str, Callable] = {
    "logit-gradient": _with_logits(lambda f, x, y, k, o: logit_gradients(f, x, y)),
    "loss-gradient": _with_logits(lambda f, x, y, k, o: loss_gradients(f, x, y)),
    "gradient-x-input": _with_logits(lambda f, x, y, k, o: gradient_x_input(f, x, y)),
    "smoothgrad": _with_logits(
        lambda f, x, y, k, o: smoothgrad(
            f, x, y, k, num_samples=o.smoothgrad_samples, noise=o.smoothgrad_noise
        )
    ),
    "integrated-gradients": _with_logits(
        lambda f, x, y, k, o: integrated_gradients(f, x, y, steps=o.ig_steps)
    ),
    "fullgrad": _fullgrad,
}


def compute_saliency(
    method: str,
    apply_fn: Callable,
    params,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    options: SaliencyOptions = SaliencyOptions(),
) -> jax.Array:
    """Per-pixel relevance ``(B, H, W)`` of ``method`` (one of :data:`SALIENCY_METHODS`).

    Every method is ``(apply_fn, params, x, y, key, options) -> (B, H, W)``; adding one is one
    function and one line in the registry. ``y`` holds the classes explained (the true ones
    for the gradient methods; FullGrad follows ``options.fullgrad_class``); ``key`` is used by
    SmoothGrad only.
    """
    check_choice(method, "saliency method", SALIENCY_METHODS)
    return SALIENCY_METHODS[method](apply_fn, params, x, y, key, options)


__all__ = [
    "SALIENCY_METHODS",
    "SaliencyOptions",
    "compute_saliency",
    "fullgrad",
    "fullgrad_terms",
    "gradient_x_input",
    "integrated_gradients",
    "pixel_relevance",
    "smoothgrad",
]
