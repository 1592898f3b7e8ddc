"""Trace estimators by name: ``ESTIMATORS[name](sigma=..., num_samples=...)`` returns
``trace_fn(fn, x, key, fx) -> (B,)``, the one signature the objectives call.

``fx = fn(x)`` is the value the caller already has from its cross-entropy forward pass; the
Taylor estimators reuse it, the others ignore it. Adding an estimator is one factory and one
line in :data:`ESTIMATORS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from gradjax.checks import check_choice
from gradjax.trace import hessian_trace, hutchinson_trace, taylor_trace

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
}


def make_trace_fn(name: str, *, sigma: float = 0.1, num_samples: int = 1) -> TraceFn:
    """``trace_fn(fn, x, key, fx) -> (B,)`` of estimator ``name`` (one of :data:`ESTIMATORS`)."""
    check_choice(name, "estimator", ESTIMATORS)
    return ESTIMATORS[name](sigma=sigma, num_samples=num_samples)


__all__ = ["ESTIMATORS", "TraceFn", "make_trace_fn"]
