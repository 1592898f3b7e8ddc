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

from gradjax.core.checks import check_choice
from gradjax.core.estimators import TraceFn, make_trace_fn
from gradjax.core.gradients import cross_entropy, logit_values_and_gradients, select_logits
from gradjax.paper import LAMBDA, MU, TAU

LossFn = Callable[..., tuple[jax.Array, dict[str, jax.Array]]]
# The per-example terms an objective can use: h (trace estimate) and ‖∇x f_y‖² (also logged
# as diagnostics by every objective), and the CE at an adversarial example.
TERMS = ("h", "grad_norm_sq")
ATTACK_TERM = "adversarial_ce"


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


def adversarial_loss(ce, terms, *, lam, mu, tau):
    del mu, tau
    return ce + lam * jnp.mean(terms["adversarial_ce"])


@dataclasses.dataclass(frozen=True)
class Objective:
    """``loss(ce, terms, *, lam, mu, tau) -> scalar`` with ``terms[t]: (B,)`` for each ``t`` in
    ``uses``; ``lam`` is the paper's regularisation strength (§5)."""

    loss: Callable[..., jax.Array]
    uses: tuple[str, ...]
    lam: float


OBJECTIVES: dict[str, Objective] = {
    "baseline": Objective(baseline_loss, (), LAMBDA["baseline"]),
    "score-matching": Objective(
        score_matching_loss, ("h", "grad_norm_sq"), LAMBDA["score-matching"]
    ),
    "anti-score-matching": Objective(
        anti_score_matching_loss, ("h",), LAMBDA["anti-score-matching"]
    ),
    "gradient-norm": Objective(gradient_norm_loss, ("grad_norm_sq",), LAMBDA["gradient-norm"]),
    # Not the paper's: adversarial training (CE + λ·CE at an L2 PGD example), for a GAN-test
    # judge that gradient-ascent samples of another network cannot pass by transfer alone.
    "adversarial": Objective(adversarial_loss, ("adversarial_ce",), 1.0),
}


def _per_example_sq_norm(grads: jax.Array) -> jax.Array:
    return jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1)


def make_objective(
    apply_fn: Callable,
    name: str,
    *,
    lam: float | None = None,
    mu: float = MU,
    tau: float = TAU,
    trace_fn: TraceFn | None = None,
    attack_fn: Callable | None = None,
    diagnostics: bool = False,
) -> LossFn:
    """Builds ``loss_fn(params, batch, key) -> (loss, metrics)`` for objective ``name``.

    Args:
      apply_fn: ``apply_fn(params, x) -> (B, C)`` logits, examples independent.
      name: one of :data:`OBJECTIVES`.
      lam: regularisation strength; ``None``: the paper's for ``name``.
      mu: score-matching's ``μ``.
      tau: anti-score-matching's threshold ``τ``.
      trace_fn: ``(fn, x, key, fx) -> (B,)``; default the Taylor estimator with σ = 0.1.
      attack_fn: ``(logits_fn, x, y, key) -> x_adv`` for the ``adversarial`` objective
        (e.g. :func:`gradjax.core.adversarial.pgd_l2` with its radius and steps bound).
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
    needed = (*TERMS, *objective.uses) if diagnostics else objective.uses
    if ATTACK_TERM in needed and attack_fn is None:
        raise ValueError(f"objective {name!r} needs an attack_fn (the adversarial examples).")

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
        if ATTACK_TERM in needed:
            x_adv = attack_fn(logits_fn, x, y, jax.random.fold_in(key, 1))
            terms[ATTACK_TERM] = cross_entropy(logits_fn(x_adv), y)
        if from_estimator:
            selected_logit = lambda z: select_logits(logits_fn(z), y)  # noqa: E731
            estimated = trace_fn(selected_logit, x, key, select_logits(logits, y))
            estimated = estimated if isinstance(estimated, dict) else {"h": estimated}
            terms.update({t: estimated[t] for t in from_estimator})
        # Terms computed only as diagnostics must not train the model.
        terms = {
            t: v if t in objective.uses else jax.lax.stop_gradient(v) for t, v in terms.items()
        }
        ce = jnp.mean(cross_entropy(logits, y))
        loss = objective.loss(ce, terms, lam=lam, mu=mu, tau=tau)
        metrics = {f"{t}": jnp.mean(v) for t, v in terms.items()}
        if "h" in terms:
            metrics["h_sq"] = jnp.mean(terms["h"] ** 2)
            metrics["h_above_tau"] = jnp.mean(terms["h"] >= tau).astype(jnp.float32)
        accuracy = jnp.mean(jnp.argmax(logits, -1) == y).astype(jnp.float32)
        return loss, {**metrics, "loss": loss, "ce": ce, "accuracy": accuracy}

    return loss_fn


__all__ = ["ATTACK_TERM", "OBJECTIVES", "TERMS", "LossFn", "Objective", "make_objective"]
