"""Shared fixtures: small differentiable models written in plain JAX (independent of gradjax).

XLA compilation, not execution, dominates these tests on CPU, so they compile with most XLA
optimisations off (``JAX_DISABLE_MOST_OPTIMIZATIONS``; set it to 0 to test optimised code). It
is set in the environment before JAX is imported so that the processes tests launch inherit it.
Every tolerance was chosen for, and passes under, both settings.
"""

import os

os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402
import jax.numpy as jnp
import pytest


def softplus_beta(z, beta=10.0):
    return jax.nn.softplus(beta * z) / beta


def init_mlp(key, sizes):
    """Parameters of an MLP with layer sizes ``sizes``: list of (W, b)."""
    params = []
    for k, (n_in, n_out) in zip(
        jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:], strict=True), strict=True
    ):
        params.append((jax.random.normal(k, (n_in, n_out)) / jnp.sqrt(n_in), 0.1 * jnp.ones(n_out)))
    return params


def mlp_logits(params, x):
    """Softplus(β=10) MLP on flattened inputs: ``(B, *event) -> (B, C)``."""
    h = x.reshape(x.shape[0], -1)
    for w, b in params[:-1]:
        h = softplus_beta(h @ w + b)
    w, b = params[-1]
    return h @ w + b


@pytest.fixture
def mlp():
    """(params, logits_fn-of-params, x, y): 6-dim inputs, 4 classes, batch 5."""
    params = init_mlp(jax.random.key(0), [6, 16, 16, 4])
    x = jax.random.uniform(jax.random.key(1), (5, 2, 3))
    y = jnp.array([0, 1, 2, 3, 1])
    return params, mlp_logits, x, y


def random_quadratic(key, batch, dim):
    """Per-example quadratics ``f_b(x) = ½ xᵀ H_b x + g_bᵀ x``: returns (fn, H, g)."""
    k1, k2 = jax.random.split(key)
    a = jax.random.normal(k1, (batch, dim, dim)) / jnp.sqrt(dim)
    hessians = a + jnp.swapaxes(a, 1, 2)
    linear = jax.random.normal(k2, (batch, dim))

    def fn(x):
        flat = x.reshape(x.shape[0], -1)
        return 0.5 * jnp.einsum("bi,bij,bj->b", flat, hessians, flat) + jnp.sum(linear * flat, -1)

    return fn, hessians, linear
