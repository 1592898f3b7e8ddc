"""Objectives: closed forms on a Gaussian-logit model, and loss decrease on digits."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gradjax.core.adversarial import pgd_l2
from gradjax.core.estimators import make_trace_fn
from gradjax.core.objectives import OBJECTIVES, make_objective
from gradjax.models import make_model
from gradjax.training.data import load_dataset, to_float


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
    trace_fn = make_trace_fn(estimator, num_samples=200_000)
    loss, metrics = jax.jit(make_objective(gaussian_logits, "score-matching", trace_fn=trace_fn))(
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
    lam = {"baseline": 0.0, "score-matching": 1e-3, "anti-score-matching": 1e-4}.get(name, 1e-3)
    # The adversarial objective against a fixed "attack" (its own test checks PGD).
    shifted = x + 0.05
    attack = lambda fn, x, y, key: x + 0.05  # noqa: E731
    adversarial_ce = closed_form_terms(params, shifted, y)[0]
    expected = {
        "baseline": ce,
        "score-matching": ce + lam * jnp.mean(h + 0.5 * grad_sq + 1e-4 * h**2),
        "anti-score-matching": ce - lam * jnp.mean(jnp.minimum(h, 1000.0)),
        "gradient-norm": ce + lam * 0.5 * jnp.mean(grad_sq),
        "adversarial": ce + 1.0 * adversarial_ce,
    }[name]
    loss_fn = make_objective(
        gaussian_logits, name, trace_fn=make_trace_fn("exact"), attack_fn=attack
    )
    loss, _ = loss_fn(params, (x, y), jax.random.key(0))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    # The clamp: with τ below h, anti-score-matching's regulariser is the constant −λτ.
    clamped = make_objective(
        gaussian_logits, "anti-score-matching", tau=-100.0, trace_fn=make_trace_fn("exact")
    )
    np.testing.assert_allclose(clamped(params, (x, y), None)[0], ce + 1e-4 * 100.0, rtol=1e-6)


@pytest.mark.parametrize("tau", [-100.0, -5.0, -3.0, 0.0])
def test_h_above_tau_is_the_share_of_the_batch_the_clamp_cuts(gaussian_problem, tau):
    # Per example h = −s_y·D = −2, −4, −8, −8, −4, −2: τ = −5 cuts 4 of 6 examples.
    params, (x, y) = gaussian_problem
    _, h, _ = closed_form_terms(params, x, y)
    expected = np.mean([float(v) >= tau for v in h])
    loss_fn = make_objective(
        gaussian_logits, "anti-score-matching", tau=tau, trace_fn=make_trace_fn("exact")
    )
    np.testing.assert_allclose(loss_fn(params, (x, y), None)[1]["h_above_tau"], expected)


def test_diagnostics_do_not_change_the_gradient(gaussian_problem):
    params, batch = gaussian_problem
    grads = [
        jax.grad(
            lambda p, d=d: make_objective(
                gaussian_logits, "baseline", trace_fn=make_trace_fn("exact"), diagnostics=d
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
    attack = functools.partial(pgd_l2, epsilon=0.5, steps=2)
    loss_fn = make_objective(model.apply, name, attack_fn=attack)
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
        make_objective(gaussian_logits, "sm")
    with pytest.raises(ValueError, match="taylor-central"):
        make_trace_fn("lanczos")


def test_score_matching_loss_on_a_2d_quadratic_by_hand():
    # Two classes on 2-D inputs: f_0(x) = ½ xᵀAx + bᵀx, f_1(x) = 0. For class 0,
    # tr ∇²f_0 = tr A = 3 and ∇f_0 = Ax + b, so every term is known without JAX.
    a = np.array([[1.0, 0.5], [0.5, 2.0]])
    b = np.array([0.3, -0.7])

    def logits(params, x):
        f0 = 0.5 * jnp.einsum("bi,ij,bj->b", x, params["a"], x) + x @ params["b"]
        return jnp.stack([f0, jnp.zeros_like(f0)], axis=1)

    x = np.array([[0.2, 0.4], [-1.0, 0.5], [0.0, 0.0]])
    y = np.zeros(3, np.int32)
    params = {"a": jnp.asarray(a), "b": jnp.asarray(b)}
    f0 = 0.5 * np.einsum("bi,ij,bj->b", x, a, x) + x @ b
    ce = np.mean(np.log1p(np.exp(-f0)))  # softmax of (f0, 0), true class 0
    grad_sq = np.sum((x @ a + b) ** 2, axis=1)
    h = np.trace(a)
    lam, mu = 1e-2, 1e-1  # large, so a mistake in any term shows
    expected = ce + lam * np.mean(h + 0.5 * grad_sq + mu * h**2)
    loss_fn = make_objective(
        logits, "score-matching", lam=lam, mu=mu, trace_fn=make_trace_fn("exact")
    )
    loss, metrics = loss_fn(params, (jnp.asarray(x), jnp.asarray(y)), None)
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    np.testing.assert_allclose(metrics["h"], h, rtol=1e-6)
    np.testing.assert_allclose(metrics["grad_norm_sq"], grad_sq.mean(), rtol=1e-6)


def test_a_new_objective_is_one_function_and_one_registry_line(monkeypatch):
    # A toy objective (CE plus λ·mean h²) registered at run time trains one step through the
    # same machinery as the paper's.
    from gradjax.core.objectives import Objective

    def curvature_squared(ce, terms, *, lam, mu, tau):
        return ce + lam * jnp.mean(terms["h"] ** 2)

    monkeypatch.setitem(OBJECTIVES, "toy", Objective(curvature_squared, ("h",), 1e-3))
    data = load_dataset("digits")
    x, y = to_float(data.train_images[:32]), data.train_labels[:32]
    model = make_model("mlp", 10)
    params = model.init(jax.random.key(0), x[:1])
    loss_fn = make_objective(model.apply, "toy", trace_fn=make_trace_fn("exact"))
    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, (x, y), None)
    expected = metrics["ce"] + 1e-3 * metrics["h_sq"]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
