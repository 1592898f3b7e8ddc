"""L2 PGD against brute force on a linear model, and the adversarial objective."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax.core.adversarial import pgd_l2, project_l2
from gradjax.core.gradients import cross_entropy
from gradjax.core.objectives import make_objective


def linear(w):
    return lambda x: x.reshape(len(x), -1) @ w


def test_projection_scales_into_the_ball_and_keeps_what_is_inside():
    delta = jnp.array([[[[3.0]], [[4.0]]], [[[0.3]], [[0.4]]]])  # norms 5 and 0.5
    projected = project_l2(delta, 1.0)
    np.testing.assert_allclose(jnp.sqrt(jnp.sum(projected**2, axis=(1, 2, 3))), [1.0, 0.5])
    np.testing.assert_allclose(projected[1], delta[1])


def test_pgd_stays_in_the_ball_and_the_pixel_range_and_raises_the_loss():
    w = jax.random.normal(jax.random.key(0), (16, 4))
    x = jax.random.uniform(jax.random.key(1), (8, 4, 4, 1), minval=0.2, maxval=0.8)
    y = jnp.arange(8) % 4
    f = linear(w)
    adv = pgd_l2(f, x, y, jax.random.key(2), epsilon=0.5, steps=10)
    norms = jnp.sqrt(jnp.sum((adv - x) ** 2, axis=(1, 2, 3)))
    assert float(norms.max()) <= 0.5 + 1e-5 and float(adv.min()) >= 0 and float(adv.max()) <= 1
    before, after = cross_entropy(f(x), y), cross_entropy(f(adv), y)
    assert bool(jnp.all(after > before))
    # CE of a linear model is convex in x: its maximum over the ball lies on the sphere, at
    # least as high as one full step of length ε along the gradient at x, which PGD run long
    # enough reaches (far from the pixel bounds, clipping does not bind).
    inside = 0.5 + 0.2 * (x - 0.5)  # pixels in [0.44, 0.56]: a step of 0.1 never clips
    g = jax.grad(lambda z: jnp.sum(cross_entropy(f(z), y)))(inside)
    unit = g / jnp.sqrt(jnp.sum(g**2, axis=(1, 2, 3), keepdims=True))
    one_step = cross_entropy(f(inside + 0.1 * unit), y)
    long = pgd_l2(
        f, inside, y, jax.random.key(2), epsilon=0.1, steps=100, step_size=0.005, unroll=False
    )
    assert bool(jnp.all(cross_entropy(f(long), y) >= one_step - 1e-4))
    with pytest.raises(ValueError, match="epsilon"):
        pgd_l2(f, x, y, jax.random.key(0), epsilon=0.0, steps=3)


def test_the_adversarial_objective_is_ce_plus_lambda_times_the_attacks_ce():
    w = jax.random.normal(jax.random.key(0), (16, 4))
    x = jax.random.uniform(jax.random.key(1), (8, 4, 4, 1))
    y = jnp.arange(8) % 4
    attack = lambda fn, x, y, key: jnp.clip(x + 0.1, 0, 1)  # noqa: E731  a fixed "attack"
    loss_fn = make_objective(lambda p, z: linear(p)(z), "adversarial", lam=0.5, attack_fn=attack)
    loss, metrics = loss_fn(w, (x, y), jax.random.key(3))
    ce = jnp.mean(cross_entropy(linear(w)(x), y))
    adv = jnp.mean(cross_entropy(linear(w)(jnp.clip(x + 0.1, 0, 1)), y))
    np.testing.assert_allclose(loss, ce + 0.5 * adv, rtol=1e-6)
    np.testing.assert_allclose(metrics["adversarial_ce"], adv, rtol=1e-6)
    with pytest.raises(ValueError, match="attack_fn"):
        make_objective(lambda p, z: linear(p)(z), "adversarial")
