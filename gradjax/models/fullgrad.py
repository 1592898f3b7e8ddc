"""FullGrad saliency (Srinivas & Fleuret, NeurIPS 2019; thesis ch. 3): the full-gradient
decomposition of a Flax network's logit into an input term and one bias term per leaf module,
implicit biases of non-linear modules included.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from gradjax.core.gradients import select_logits


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


__all__ = ["fullgrad", "fullgrad_terms"]
