"""Training objectives as pure functions ``(params, batch, key) -> (loss, metrics)``.

Srinivas & Fleuret, ICLR 2021, §5, with ``f_y`` the logit of the true class and ``h`` an
estimate of ``tr ∇²x f_y(x)``:

* ``baseline``: cross-entropy (CE).
* ``score-matching`` (eq. 4): ``CE + λ·mean(h + ½‖∇x f_y‖² + μh²)``; the ``μh²`` term keeps the
  curvature estimate from running away.
* ``anti-score-matching``: ``CE − λ·mean(min(h, τ))``: maximises the clamped trace.
* ``gradient-norm``: ``CE + λ·mean(½‖∇x f_y‖²)``.

Each objective is one loss function of the per-example terms and one line in
:data:`OBJECTIVES` (which terms it uses and the paper's λ). One forward pass serves CE,
``f_y(x)`` (reused as ``fx`` by the Taylor estimator) and, through the same ``jax.grad``,
``∇x f_y``; differentiating the loss in ``params`` back-propagates through that input-gradient
(double backprop).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from gradjax.checks import check_choice
from gradjax.estimators import TraceFn, make_trace_fn
from gradjax.gradients import logit_values_and_gradients, select_logits

LossFn = Callable[..., tuple[jax.Array, dict[str, jax.Array]]]
# The per-example terms an objective can use: h (trace estimate) and ‖∇x f_y‖².
TERMS = ("h", "grad_norm_sq")


def baseline_loss(ce, terms, *, lam, mu, tau):
    del terms, lam, mu, tau
    return ce


def score_matching_loss(ce, terms, *, lam, mu, tau):
    del tau
    h = terms["h"]
    return ce + lam * jnp.mean(h + 0.5 * terms["grad_norm_sq"] + mu * h**2)


def anti_score_matching_loss(ce, terms, *, lam, mu, tau):
    del mu
    return ce - lam * jnp.mean(jnp.minimum(terms["h"], tau))


def gradient_norm_loss(ce, terms, *, lam, mu, tau):
    del mu, tau
    return ce + lam * 0.5 * jnp.mean(terms["grad_norm_sq"])


@dataclasses.dataclass(frozen=True)
class Objective:
    """``loss(ce, terms, *, lam, mu, tau) -> scalar`` with ``terms[t]: (B,)`` for each ``t`` in
    ``uses``; ``lam`` is the paper's regularisation strength (§5)."""

    loss: Callable[..., jax.Array]
    uses: tuple[str, ...]
    lam: float


OBJECTIVES: dict[str, Objective] = {
    "baseline": Objective(baseline_loss, (), 0.0),
    "score-matching": Objective(score_matching_loss, ("h", "grad_norm_sq"), 1e-3),
    "anti-score-matching": Objective(anti_score_matching_loss, ("h",), 1e-4),
    "gradient-norm": Objective(gradient_norm_loss, ("grad_norm_sq",), 1e-3),
}


def _per_example_sq_norm(grads: jax.Array) -> jax.Array:
    return jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1)


def make_objective(
    apply_fn: Callable,
    name: str,
    *,
    lam: float | None = None,
    mu: float = 1e-4,
    tau: float = 1000.0,
    trace_fn: TraceFn | None = None,
    diagnostics: bool = False,
) -> LossFn:
    """Builds ``loss_fn(params, batch, key) -> (loss, metrics)`` for objective ``name``.

    Args:
      apply_fn: ``apply_fn(params, x) -> (B, C)`` logits, examples independent.
      name: one of :data:`OBJECTIVES`.
      lam: regularisation strength; ``None``: the paper's for ``name``.
      mu, tau: score-matching's ``μ`` and anti-score-matching's threshold ``τ``.
      trace_fn: ``(fn, x, key, fx) -> (B,)``; default the Taylor estimator with σ = 0.1.
      diagnostics: also compute the terms ``name`` does not use (not differentiated), so that
        ``metrics`` reports ``h`` and ``grad_norm_sq`` for every objective.

    Returns:
      A pure function of ``params``, ``batch = (x (B, *event) float in [0, 1], y (B,) int)``
      and a PRNG ``key``. ``metrics`` holds scalars ``loss``, ``ce``, ``accuracy`` and, when
      computed, ``h``, ``h_sq`` (means of ``h`` and ``h²``), ``h_above_tau`` (the share of
      the batch whose estimate reached ``τ``: where anti-score-matching's clamp stops its
      gradient) and ``grad_norm_sq``.
    """
    check_choice(name, "objective", OBJECTIVES)
    objective = OBJECTIVES[name]
    lam = objective.lam if lam is None else lam
    trace_fn = make_trace_fn("taylor") if trace_fn is None else trace_fn
    needed = TERMS if diagnostics else objective.uses

    # An estimator that provides the gradient term too (fd-ssm) replaces the backward pass.
    from_estimator = set(getattr(trace_fn, "provides", ("h",))) & set(needed)
    backprop_gradient = "grad_norm_sq" in needed and "grad_norm_sq" not in from_estimator

    def loss_fn(params, batch, key):
        x, y = batch
        logits_fn = functools.partial(apply_fn, params)
        terms = {}
        if backprop_gradient:
            logits, grads = logit_values_and_gradients(logits_fn, x, y)
            terms["grad_norm_sq"] = _per_example_sq_norm(grads)
        else:
            logits = logits_fn(x)
        if from_estimator:
            selected_logit = lambda z: select_logits(logits_fn(z), y)  # noqa: E731
            estimated = trace_fn(selected_logit, x, key, select_logits(logits, y))
            estimated = estimated if isinstance(estimated, dict) else {"h": estimated}
            terms.update({t: estimated[t] for t in from_estimator})
        # Terms computed only as diagnostics must not train the model.
        terms = {
            t: v if t in objective.uses else jax.lax.stop_gradient(v) for t, v in terms.items()
        }
        ce = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
        loss = objective.loss(ce, terms, lam=lam, mu=mu, tau=tau)
        metrics = {f"{t}": jnp.mean(v) for t, v in terms.items()}
        if "h" in terms:
            metrics["h_sq"] = jnp.mean(terms["h"] ** 2)
            metrics["h_above_tau"] = jnp.mean(terms["h"] >= tau).astype(jnp.float32)
        accuracy = jnp.mean(jnp.argmax(logits, -1) == y).astype(jnp.float32)
        return loss, {**metrics, "loss": loss, "ce": ce, "accuracy": accuracy}

    return loss_fn


__all__ = ["OBJECTIVES", "TERMS", "LossFn", "Objective", "make_objective"]
