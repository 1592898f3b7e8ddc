"""Trace estimators by name: ``ESTIMATORS[name](sigma=..., num_samples=...)`` returns
``trace_fn(fn, x, key, fx)``, the one signature the objectives call.

``fx = fn(x)`` is the value the caller already has from its cross-entropy forward pass; the
Taylor estimators reuse it, the others ignore it. A trace function returns ``(B,)`` estimates
of ``h = tr ∇²f``, or, when its ``provides`` attribute lists ``"grad_norm_sq"`` too, a dict
of per-example terms: then the objective takes ``‖∇x f‖²`` from it instead of a backward pass
(``fd-ssm``: no double backprop at all). Adding an estimator is one factory and one line in
:data:`ESTIMATORS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gradjax.core.checks import check_choice
from gradjax.core.trace import hessian_trace, hutchinson_trace, map_over_samples, taylor_trace

TraceFn = Callable[[Callable, jax.Array, jax.Array, jax.Array], jax.Array]


def _taylor(*, sigma: float, num_samples: int, central: bool) -> TraceFn:
    def trace_fn(fn, x, key, fx):
        return taylor_trace(fn, x, key, sigma, num_samples=num_samples, central=central, fx=fx)

    return trace_fn


def _hutchinson(*, sigma: float, num_samples: int, distribution: str) -> TraceFn:
    del sigma  # probes are unit-variance; σ only scales the Taylor perturbations

    def trace_fn(fn, x, key, fx):
        return hutchinson_trace(fn, x, key, num_samples=num_samples, distribution=distribution)

    return trace_fn


def fd_sliced_terms(
    fn, x: jax.Array, key: jax.Array, fx: jax.Array, *, sigma: float, num_samples: int = 1
) -> dict[str, jax.Array]:
    """Both score-matching terms from forward passes only: finite-difference sliced score
    matching (Pang et al., NeurIPS 2020), with Rademacher directions ``v = σ·s``,
    ``E[v vᵀ] = σ² I``::

        h ≈ (f(x+v) + f(x−v) − 2f(x)) / σ²          (E = tr H for quadratic f)
        ‖∇f‖² ≈ ((f(x+v) − f(x−v)) / 2)² / σ²        (E = ‖∇f‖² for quadratic f)

    Both are unbiased for quadratic ``f`` (their bias is ``O(σ²)`` otherwise); each costs two
    perturbed forward passes per sample and no backward pass through the input.

    Returns:
      ``{"h": (B,), "grad_norm_sq": (B,)}``.
    """
    signs = jax.random.rademacher(key, (num_samples, *x.shape), x.dtype)
    v = sigma * signs
    # One perturbed batch at a time, unrolled on CPU (a rolled loop's derivative is slow there).
    f_plus = map_over_samples(fn, x + v)
    f_minus = map_over_samples(fn, x - v)
    h = jnp.mean(f_plus + f_minus - 2.0 * fx, axis=0) / sigma**2
    grad_sq = jnp.mean((0.5 * (f_plus - f_minus)) ** 2, axis=0) / sigma**2
    return {"h": h, "grad_norm_sq": grad_sq}


def _fd_ssm(*, sigma: float, num_samples: int) -> TraceFn:
    def trace_fn(fn, x, key, fx):
        return fd_sliced_terms(fn, x, key, fx, sigma=sigma, num_samples=num_samples)

    trace_fn.provides = ("h", "grad_norm_sq")
    return trace_fn


def _exact(*, sigma: float, num_samples: int) -> TraceFn:
    """``D`` Hessian-vector products: for small inputs such as 8×8 digits."""
    del sigma, num_samples
    return lambda fn, x, key, fx: hessian_trace(fn, x)


ESTIMATORS: dict[str, Callable[..., TraceFn]] = {
    "taylor": functools.partial(_taylor, central=False),
    "taylor-central": functools.partial(_taylor, central=True),
    "hutchinson": functools.partial(_hutchinson, distribution="gaussian"),
    "hutchinson-rademacher": functools.partial(_hutchinson, distribution="rademacher"),
    "exact": _exact,
    "fd-ssm": _fd_ssm,
}


def make_trace_fn(name: str, *, sigma: float = 0.1, num_samples: int = 1) -> TraceFn:
    """``trace_fn(fn, x, key, fx) -> (B,)`` of estimator ``name`` (one of :data:`ESTIMATORS`)."""
    check_choice(name, "estimator", ESTIMATORS)
    return ESTIMATORS[name](sigma=sigma, num_samples=num_samples)


__all__ = ["ESTIMATORS", "TraceFn", "fd_sliced_terms", "make_trace_fn"]
