"""Adversarial examples by projected gradient ascent on the loss (Madry et al., 2018), in an
L2 ball: the inner maximisation of adversarial training. gradjax trains a GAN-test judge this
way, so that gradient-ascent samples of another network cannot pass it by transfer alone.

Pure functions of ``logits_fn: (B, *event) -> (B, C)`` with examples independent; inputs are
pixels in [0, 1], and the perturbed inputs stay in that range.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_positive, check_positive_int
from gradjax.core.gradients import LogitsFn, cross_entropy
from gradjax.core.loops import resolve_unroll


def _per_example_norm(v: jax.Array) -> jax.Array:
    """``(B, *event) -> (B, 1, …, 1)`` L2 norms, broadcastable against ``v``."""
    norms = jnp.sqrt(jnp.sum(v.reshape(len(v), -1) ** 2, axis=1))
    return norms.reshape(-1, *([1] * (v.ndim - 1)))


def project_l2(delta: jax.Array, epsilon: float) -> jax.Array:
    """Each example's ``delta`` scaled into the L2 ball of radius ``epsilon``."""
    norms = _per_example_norm(delta)
    return delta * jnp.minimum(1.0, epsilon / jnp.maximum(norms, 1e-12))


def pgd_l2(
    logits_fn: LogitsFn,
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    *,
    epsilon: float,
    steps: int,
    step_size: float | None = None,
    unroll: bool | None = None,
) -> jax.Array:
    """``x + δ`` with ``‖δ‖₂ ≤ epsilon`` per example raising ``CE(f(x + δ), y)``, in [0, 1].

    Starts from a uniformly random direction of radius ``epsilon/2`` (so that a model whose
    loss-gradient vanishes at ``x`` is still attacked), then ``steps`` normalised gradient
    steps of ``step_size`` (default ``2.5·epsilon/steps``, Madry et al.'s rule), each followed
    by projection onto the ball and clipping to [0, 1]. No gradient flows through the
    perturbation (it is an input to the training loss, not a function of the parameters).

    Args:
      logits_fn: ``(B, *event) -> (B, C)``; x: ``(B, *event)`` in [0, 1]; y: ``(B,)`` labels.
      key: PRNG key of the random start.
      epsilon: the ball's radius (> 0); steps: ascent steps (≥ 1).
    """
    check_positive(epsilon, "epsilon")
    check_positive_int(steps, "steps")
    step_size = 2.5 * epsilon / steps if step_size is None else step_size
    check_positive(step_size, "step_size")
    start = jax.random.normal(key, x.shape, x.dtype)
    delta = 0.5 * epsilon * start / jnp.maximum(_per_example_norm(start), 1e-12)
    loss_grad = jax.grad(lambda z: jnp.sum(cross_entropy(logits_fn(z), y)))

    def step(delta, _):
        g = loss_grad(jnp.clip(x + delta, 0.0, 1.0))
        delta = delta + step_size * g / jnp.maximum(_per_example_norm(g), 1e-12)
        return project_l2(jnp.clip(x + delta, 0.0, 1.0) - x, epsilon), None

    delta, _ = jax.lax.scan(step, delta, None, length=steps, unroll=resolve_unroll(unroll, steps))
    return jax.lax.stop_gradient(jnp.clip(x + delta, 0.0, 1.0))


__all__ = ["pgd_l2", "project_l2"]
