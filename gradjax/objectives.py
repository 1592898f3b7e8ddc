"""Training objectives as pure functions ``(params, batch, key) -> (loss, metrics)``.

Built by :func:`make_objective` from a model's ``apply_fn`` and an :class:`ObjectiveConfig`
(Srinivas & Fleuret, 2021, §5), with ``f_y`` the logit of the true class and ``h`` an estimate
of ``tr ∇²x f_y(x)``:

* ``baseline``: cross-entropy (CE).
* ``score-matching`` (eq. 4): ``CE + λ·mean(h + ½‖∇x f_y‖² + μh²)``; the ``μh²`` term keeps the
  curvature estimate from running away.
* ``anti-score-matching``: ``CE − λ·mean(min(h, τ))``: maximises the clamped trace.
* ``gradient-norm``: ``CE + λ·mean(½‖∇x f_y‖²)``.

One forward pass serves CE, ``f_y(x)`` (reused as ``fx`` by the Taylor estimator) and, through
the same ``jax.grad``, ``∇x f_y``; differentiating the loss in ``params`` then back-propagates
through that input-gradient (double backprop).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from gradjax.checks import check_choice
from gradjax.config import OBJECTIVES, ObjectiveConfig
from gradjax.gradients import logit_values_and_gradients, select_logits
from gradjax.trace import hessian_trace, hutchinson_trace, taylor_trace

TraceFn = Callable[..., jax.Array]  # (fn, x, key, fx) -> (B,)

ESTIMATORS = ("taylor", "taylor-central", "hutchinson", "hutchinson-rademacher", "exact")
# Objectives whose loss uses each term (the others compute it only as a diagnostic).
USES_GRADIENT = ("score-matching", "gradient-norm")
USES_TRACE = ("score-matching", "anti-score-matching")


def make_trace_fn(estimator: str, *, sigma: float, num_samples: int = 1) -> TraceFn:
    """Returns ``trace_fn(fn, x, key, fx) -> (B,)`` for estimator name :data:`ESTIMATORS`.

    ``fx = fn(x)`` is reused by the Taylor estimators and ignored by the others; ``exact``
    (``D`` Hessian-vector products) is meant for small inputs such as 8×8 digits.
    """
    check_choice(estimator, "estimator", ESTIMATORS)

    def trace_fn(fn, x, key, fx):
        if estimator.startswith("taylor"):
            central = estimator == "taylor-central"
            return taylor_trace(fn, x, key, sigma, num_samples=num_samples, central=central, fx=fx)
        if estimator.startswith("hutchinson"):
            distribution = "rademacher" if estimator.endswith("rademacher") else "gaussian"
            return hutchinson_trace(fn, x, key, num_samples=num_samples, distribution=distribution)
        return hessian_trace(fn, x)

    return trace_fn


def _per_example_sq_norm(grads: jax.Array) -> jax.Array:
    return jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1)


def make_objective(
    apply_fn: Callable, config: ObjectiveConfig
) -> Callable[..., tuple[jax.Array, dict[str, jax.Array]]]:
    """Builds ``loss_fn(params, batch, key) -> (loss, metrics)``.

    Args:
      apply_fn: ``apply_fn(params, x) -> (B, C)`` logits, examples independent.
      config: which objective and its constants.

    Returns:
      A pure function of ``params``, ``batch = (x (B, *event) float in [0, 1], y (B,) int)``
      and a PRNG ``key``. ``metrics`` holds scalars: ``loss``, ``ce``, ``accuracy``, and, when
      computed, ``h`` (mean trace estimate), ``grad_norm_sq`` (mean ‖∇x f_y‖²) and ``h_sq``.
    """
    check_choice(config.name, "objective", OBJECTIVES)
    trace_fn = make_trace_fn(config.estimator, sigma=config.sigma, num_samples=config.num_samples)
    lam, mu, tau = config.resolved_lam, config.mu, config.tau
    name = config.name
    need_gradient = name in USES_GRADIENT or config.diagnostics
    need_trace = name in USES_TRACE or config.diagnostics

    def loss_fn(params, batch, key):
        x, y = batch
        logits_fn = functools.partial(apply_fn, params)
        metrics = {}
        if need_gradient:
            logits, grads = logit_values_and_gradients(logits_fn, x, y)
            grad_norm_sq = _per_example_sq_norm(grads)
            if name not in USES_GRADIENT:
                grad_norm_sq = jax.lax.stop_gradient(grad_norm_sq)
            metrics["grad_norm_sq"] = jnp.mean(grad_norm_sq)
        else:
            logits = logits_fn(x)
        ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
        if need_trace:
            selected_logit = lambda z: select_logits(logits_fn(z), y)  # noqa: E731
            h = trace_fn(selected_logit, x, key, select_logits(logits, y))
            if name not in USES_TRACE:
                h = jax.lax.stop_gradient(h)
            metrics["h"] = jnp.mean(h)
            metrics["h_sq"] = jnp.mean(h**2)

        if name == "baseline":
            loss = ce
        elif name == "score-matching":
            loss = ce + lam * jnp.mean(h + 0.5 * grad_norm_sq + mu * h**2)
        elif name == "anti-score-matching":
            loss = ce - lam * jnp.mean(jnp.minimum(h, tau))
        else:
            loss = ce + lam * 0.5 * jnp.mean(grad_norm_sq)
        metrics.update(
            loss=loss, ce=ce, accuracy=jnp.mean(jnp.argmax(logits, -1) == y).astype(jnp.float32)
        )
        return loss, metrics

    return loss_fn
