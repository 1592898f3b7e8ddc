"""Mean squared error of the deflating trace estimators at equal budgets, per probe law, on a
matrix with a k⁻² spectrum (a few eigenvalues carry most of ‖H‖²_F, as in trained networks'
input Hessians): Hutch++ with Gaussian and Rademacher probes, XTrace plain and improved, and
Hutchinson for scale. Prints one JSON line per (estimator, budget).

    python benchmarks/deflation.py [--dim 200] [--draws 2000] [--budgets 12 24 48]
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

from gradjax import hutchinson_trace, hutchpp_trace, xtrace


def quadratic(dim: int, key) -> tuple:
    """``fn(x) = ½ xᵀ H x`` for one example with ``H = U diag(k⁻²) Uᵀ``, a random rotation."""
    u, _ = jnp.linalg.qr(jax.random.normal(key, (dim, dim)))
    hessian = (u * (1.0 / jnp.arange(1, dim + 1) ** 2)) @ u.T
    return (lambda x: 0.5 * jnp.einsum("bi,ij,bj->b", x, hessian, x)), float(jnp.trace(hessian))


ESTIMATORS = {
    "hutchinson": lambda fn, x, k, n: hutchinson_trace(fn, x, k, num_samples=n),
    "hutch++ gaussian": lambda fn, x, k, n: hutchpp_trace(
        fn, x, k, num_samples=n, distribution="gaussian"
    ),
    "hutch++ rademacher": lambda fn, x, k, n: hutchpp_trace(fn, x, k, num_samples=n),
    "xtrace plain": lambda fn, x, k, n: xtrace(
        fn, x, k, num_samples=n, distribution="gaussian", improved=False
    ),
    "xtrace improved": lambda fn, x, k, n: xtrace(fn, x, k, num_samples=n),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--budgets", type=int, nargs="+", default=[12, 24, 48])
    args = parser.parse_args(argv)
    fn, exact = quadratic(args.dim, jax.random.key(0))
    x = jnp.zeros((1, args.dim))
    keys = jax.random.split(jax.random.key(1), args.draws)
    for budget in args.budgets:
        for name, estimate in ESTIMATORS.items():
            draws = jax.jit(jax.vmap(lambda k, e=estimate, n=budget: e(fn, x, k, n)[0]))(keys)
            error = np.asarray(draws, np.float64) - exact
            print(
                json.dumps(
                    {
                        "estimator": name,
                        "budget": budget,
                        "dim": args.dim,
                        "mse": float(np.mean(error**2)),
                        "bias": float(np.mean(error)),
                        "draws": args.draws,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
