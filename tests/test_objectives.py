"""Objectives: closed forms on a Gaussian-logit model, and loss decrease on digits."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gradjax.config import DEFAULT_LAMBDA, OBJECTIVES, ObjectiveConfig
from gradjax.data import load_dataset, to_float
from gradjax.models import make_model
from gradjax.objectives import ESTIMATORS, make_objective


def gaussian_logits(params, x):
    """f_i(x) = −½ s_i ‖x − m_i‖² + b_i: tr ∇²f_i = −s_i·D, ∇f_i = −s_i (x − m_i)."""
    flat = x.reshape(x.shape[0], -1)
    sq = jnp.sum((flat[:, None, :] - params["m"][None]) ** 2, -1)
    return -0.5 * params["s"][None] * sq + params["b"][None]


@pytest.fixture
def gaussian_problem():
    k = jax.random.split(jax.random.key(0), 3)
    params = {
        "m": jax.random.uniform(k[0], (3, 4)),
        "s": jnp.array([0.5, 1.0, 2.0]),
        "b": jnp.array([0.1, -0.2, 0.3]),
    }
    x = jax.random.uniform(k[1], (6, 2, 2, 1))
    y = jnp.array([0, 1, 2, 2, 1, 0])
    return params, (x, y)


def closed_form_terms(params, x, y):
    flat = x.reshape(len(x), -1)
    s, m = params["s"][y], params["m"][y]
    h = -s * flat.shape[1]
    grad_sq = s**2 * jnp.sum((flat - m) ** 2, -1)
    ce = optax.softmax_cross_entropy_with_integer_labels(gaussian_logits(params, x), y).mean()
    return ce, h, grad_sq


@pytest.mark.parametrize("estimator", ["exact", "hutchinson", "taylor", "taylor-central"])
def test_score_matching_equals_closed_form_on_gaussian_logits(gaussian_problem, estimator):
    params, (x, y) = gaussian_problem
    ce, h, grad_sq = closed_form_terms(params, x, y)
    lam, mu = 1e-3, 1e-4
    expected = ce + lam * jnp.mean(h + 0.5 * grad_sq + mu * h**2)
    config = ObjectiveConfig("score-matching", estimator=estimator, num_samples=200_000)
    loss, metrics = jax.jit(make_objective(gaussian_logits, config))(
        params, (x, y), jax.random.key(1)
    )
    # Exact estimator: equal to float32 precision. Stochastic ones: f is quadratic, so they
    # are unbiased; with 200k samples their error on h is < 0.1 (5 standard errors, the
    # Taylor forward one being largest: sqrt((2‖H‖²_F + 4‖∇f‖²/σ²)/N) ≈ 0.02).
    h_tol = 1e-4 if estimator == "exact" else 0.1
    np.testing.assert_allclose(metrics["h"], jnp.mean(h), atol=h_tol)
    np.testing.assert_allclose(metrics["grad_norm_sq"], jnp.mean(grad_sq), rtol=1e-5)
    np.testing.assert_allclose(metrics["ce"], ce, rtol=1e-6)
    np.testing.assert_allclose(loss, expected, atol=1e-6 + 2e-3 * h_tol)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_matches_its_formula_with_the_exact_trace(gaussian_problem, name):
    params, (x, y) = gaussian_problem
    ce, h, grad_sq = closed_form_terms(params, x, y)
    lam = DEFAULT_LAMBDA[name]
    expected = {
        "baseline": ce,
        "score-matching": ce + lam * jnp.mean(h + 0.5 * grad_sq + 1e-4 * h**2),
        "anti-score-matching": ce - lam * jnp.mean(jnp.minimum(h, 1000.0)),
        "gradient-norm": ce + lam * 0.5 * jnp.mean(grad_sq),
    }[name]
    loss_fn = make_objective(gaussian_logits, ObjectiveConfig(name, estimator="exact"))
    loss, _ = loss_fn(params, (x, y), jax.random.key(0))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    # The clamp: with τ below h, anti-score-matching's regulariser is the constant −λτ.
    clamped = make_objective(
        gaussian_logits, ObjectiveConfig("anti-score-matching", tau=-100.0, estimator="exact")
    )
    np.testing.assert_allclose(clamped(params, (x, y), None)[0], ce + 1e-4 * 100.0, rtol=1e-6)


def test_diagnostics_do_not_change_the_gradient(gaussian_problem):
    params, batch = gaussian_problem
    grads = [
        jax.grad(
            lambda p, d=d: make_objective(
                gaussian_logits, ObjectiveConfig("baseline", estimator="exact", diagnostics=d)
            )(p, batch, None)[0]
        )(params)
        for d in (False, True)
    ]
    for a, b in zip(jax.tree.leaves(grads[0]), jax.tree.leaves(grads[1]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_lowers_its_loss_on_digits(name):
    data = load_dataset("digits")
    x, y = to_float(data.train_images[:256]), data.train_labels[:256]
    model = make_model("cnn", 10, width=8)
    params = model.init(jax.random.key(0), x[:1])
    loss_fn = make_objective(model.apply, ObjectiveConfig(name, sigma=0.1))
    opt = optax.adam(3e-3)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, key):
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, (x, y), key)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, loss

    fixed_key = jax.random.key(123)
    before = float(jax.jit(loss_fn)(params, (x, y), fixed_key)[0])
    for i in range(15):
        params, opt_state, _ = step(params, opt_state, jax.random.key(i))
    after = float(jax.jit(loss_fn)(params, (x, y), fixed_key)[0])
    assert after < before - 0.1, (before, after)


def test_unknown_objective_and_estimator_fail_with_valid_names():
    with pytest.raises(ValueError, match="gradient-norm"):
        make_objective(gaussian_logits, ObjectiveConfig("sm"))
    with pytest.raises(ValueError, match="taylor-central"):
        make_objective(gaussian_logits, ObjectiveConfig(estimator="lanczos"))
    assert set(ESTIMATORS) >= {"taylor", "taylor-central", "hutchinson", "exact"}
