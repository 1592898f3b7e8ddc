"""Input-gradients of a classifier: logit-gradients ∇x f_y(x) and loss-gradients ∇x CE(f(x), y).

``logits_fn`` maps a batch ``x: (B, *event)`` to logits ``(B, C)`` with examples independent
(no batch statistics), so the gradient of the batch *sum* with respect to ``x`` is every
per-example gradient at the cost of one backward pass. Logits are read as unnormalised
class-conditional log-densities, ``p(x | y=i) ∝ exp f_i(x)``, so ``∇x f_y`` is the score of that
implicit density (Srinivas & Fleuret, ICLR 2021, §3).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_labels, check_logits_and_labels

LogitsFn = Callable[[jax.Array], jax.Array]


def select_logits(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Picks ``logits[b, y[b]]`` for each example: ``(B, C), (B,) -> (B,)``.

    Labels are checked (integer, shape ``(B,)``, in ``[0, C)``) when they are concrete. Under
    ``jit`` they are traced and cannot be: an out-of-range label there selects NaN, so every
    estimate built on it is NaN rather than a wrong number (a gradient through it is 0).
    """
    check_labels(y, logits.shape[-1], logits.shape[0])
    return jnp.take_along_axis(logits, y[:, None], axis=1, mode="fill", fill_value=jnp.nan)[:, 0]


def logit_values_and_gradients(
    logits_fn: LogitsFn, x: jax.Array, y: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Logits and logit-gradients from one forward and one backward pass.

    Args:
      logits_fn: ``(B, *event) -> (B, C)``, examples independent.
      x: ``(B, *event)`` floating-point inputs.
      y: ``(B,)`` integer labels in ``[0, C)``.

    Returns:
      ``(logits, grads)``: logits ``(B, C)`` and ``∇x f_y(x)`` of the shape of ``x``. Training
      objectives use this to get the cross-entropy and the score from one pass.
    """
    check_logits_and_labels(logits_fn, x, y)

    def summed_selected_logit(inputs):
        logits = logits_fn(inputs)
        return jnp.sum(select_logits(logits, y)), logits

    grads, logits = jax.grad(summed_selected_logit, has_aux=True)(x)
    return logits, grads


def logit_gradients(logits_fn: LogitsFn, x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-example ``∇x f_y(x)``: the score of the implicit class-conditional density.

    Args:
      logits_fn: ``(B, *event) -> (B, C)``, examples independent.
      x: ``(B, *event)`` floating-point inputs.
      y: ``(B,)`` integer labels in ``[0, C)``.

    Returns:
      An array of the shape of ``x``.
    """
    return logit_values_and_gradients(logits_fn, x, y)[1]


def cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
    """Per-example ``CE(softmax(logits), y) = logsumexp(logits) − logits[y]``: ``(B, C), (B,) ->
    (B,)``, computed as optax's ``softmax_cross_entropy_with_integer_labels`` does."""
    label_logits = jnp.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
    return jax.nn.logsumexp(logits, axis=-1) - label_logits


def loss_gradients(logits_fn: LogitsFn, x: jax.Array, y: jax.Array) -> jax.Array:
    """Per-example ``∇x CE(softmax(f(x)), y)``: unchanged by adding any ``g(x)`` to all logits.

    Args:
      logits_fn: ``(B, *event) -> (B, C)``, examples independent.
      x: ``(B, *event)`` floating-point inputs.
      y: ``(B,)`` integer labels in ``[0, C)``.

    Returns:
      An array of the shape of ``x``.
    """
    check_logits_and_labels(logits_fn, x, y)

    def summed_loss(inputs):
        logits = logits_fn(inputs)
        return jnp.sum(cross_entropy(logits, y))

    return jax.grad(summed_loss)(x)
