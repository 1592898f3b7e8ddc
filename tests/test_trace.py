"""Trace estimators against jax.hessian, Gaussian log-density closed forms and variance formulas."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import mlp_logits, random_quadratic

from gradjax import (
    hessian_trace,
    hutchinson_trace,
    hutchinson_variance,
    taylor_trace,
    taylor_variance,
)


def exact_traces(fn, x):
    """Reference: per-example trace of jax.hessian, one example at a time in a Python loop."""
    return jnp.stack([jnp.trace(exact_hessian(fn, x, b)) for b in range(x.shape[0])])


def exact_hessian(fn, x, b):
    """``(D, D)`` Hessian of ``fn(x)[b]`` with respect to example ``b`` alone."""
    one = lambda z: fn(x.at[b].set(z))[b]  # noqa: E731
    return jax.hessian(one)(x[b]).reshape(x[b].size, x[b].size)


def selected_logit_fn(params, y):
    return lambda x: jnp.take_along_axis(mlp_logits(params, x), y[:, None], 1)[:, 0]


ESTIMATORS = {
    "hutchinson-gaussian": functools.partial(hutchinson_trace, distribution="gaussian"),
    "hutchinson-rademacher": functools.partial(hutchinson_trace, distribution="rademacher"),
    "taylor-forward": lambda fn, x, key, **kw: taylor_trace(fn, x, key, 0.3, **kw),
    "taylor-central": lambda fn, x, key, **kw: taylor_trace(fn, x, key, 0.3, central=True, **kw),
}


@pytest.mark.parametrize("chunk_size", [1, 4, 7, 64])
def test_hessian_trace_matches_jax_hessian_on_softplus_mlp(mlp, chunk_size):
    params, _, x, y = mlp
    fn = selected_logit_fn(params, y)
    got = jax.jit(lambda x: hessian_trace(fn, x, chunk_size=chunk_size))(x)
    np.testing.assert_allclose(got, exact_traces(fn, x), rtol=1e-4, atol=1e-4)


def test_hessian_trace_gaussian_log_density_at_cifar_size():
    # log N(x; m, P⁻¹) up to a constant, with P = diag(p) + u uᵀ: tr ∇² = −Σ p − ‖u‖².
    shape = (2, 32, 32, 3)
    dim = 32 * 32 * 3
    keys = jax.random.split(jax.random.key(3), 4)
    precision_diag = jax.random.uniform(keys[0], (2, dim), minval=0.5, maxval=2.0)
    low_rank = jax.random.normal(keys[1], (2, dim)) / jnp.sqrt(dim)
    mean = jax.random.normal(keys[2], (2, dim))

    def log_density(x):
        r = x.reshape(2, -1) - mean
        return -0.5 * jnp.sum(precision_diag * r**2, -1) - 0.5 * jnp.sum(low_rank * r, -1) ** 2

    x = jax.random.normal(keys[3], shape)
    got = jax.jit(lambda x: hessian_trace(log_density, x, chunk_size=512))(x)
    expected = -precision_diag.sum(-1) - jnp.sum(low_rank**2, -1)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["taylor-forward", "taylor-central"])
def test_taylor_is_exact_in_expectation_for_quadratics(name):
    fn, hessians, _ = random_quadratic(jax.random.key(0), batch=3, dim=5)
    x = jax.random.normal(jax.random.key(1), (3, 5))
    est = ESTIMATORS[name](fn, x, jax.random.key(2), num_samples=100_000)
    true = jnp.trace(hessians, axis1=1, axis2=2)
    var = taylor_variance(
        hessians,
        jax.vmap(jax.grad(lambda z, h, g: 0.5 * z @ h @ z + g @ z))(x, hessians, _),
        0.3,
        num_samples=100_000,
        central=name == "taylor-central",
    )
    # Five standard errors of the mean of 100k samples: fails by chance with p ≈ 6e-7.
    assert np.all(np.abs(est - true) < 5 * np.sqrt(var)), (est, true, np.sqrt(var))


def _single_sample_estimates(estimator, fn, x, num_draws, num_samples=1):
    """(num_draws, B) independent estimates, each averaging ``num_samples`` probes."""
    keys = jax.random.split(jax.random.key(42), num_draws)
    return jax.jit(jax.vmap(lambda k: estimator(fn, x, k, num_samples=num_samples)))(keys)


def _assert_mean_and_variance(samples, mean, variance, z=5.0):
    """Checks the sample mean and variance against closed forms, each within ``z`` standard
    errors estimated from the samples themselves (fourth central moment for the variance)."""
    samples = np.asarray(samples, np.float64)
    n = samples.shape[0]
    centred = samples - samples.mean(0)
    s2 = centred.var(0, ddof=1)
    se_mean = np.sqrt(np.asarray(variance) / n)
    se_var = np.sqrt((np.mean(centred**4, 0) - s2**2) / n)
    np.testing.assert_array_less(np.abs(samples.mean(0) - mean), z * se_mean)
    np.testing.assert_array_less(np.abs(s2 - variance), z * se_var)


@pytest.mark.parametrize("num_samples", [1, 4])
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimators_unbiased_with_closed_form_variance_on_quadratics(name, num_samples):
    fn, hessians, linear = random_quadratic(jax.random.key(7), batch=3, dim=6)
    x = jax.random.normal(jax.random.key(8), (3, 6))
    gradients = jnp.einsum("bij,bj->bi", hessians, x) + linear
    samples = _single_sample_estimates(ESTIMATORS[name], fn, x, 40_000, num_samples)
    if name.startswith("hutchinson"):
        variance = hutchinson_variance(
            hessians, num_samples=num_samples, distribution=name.split("-")[1]
        )
    else:
        variance = taylor_variance(
            hessians, gradients, 0.3, num_samples=num_samples, central=name == "taylor-central"
        )
    _assert_mean_and_variance(samples, jnp.trace(hessians, axis1=1, axis2=2), variance)


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_hutchinson_unbiased_with_closed_form_variance_on_softplus_mlp(mlp, distribution):
    # Hutchinson's variance formula holds for any fn: it depends only on H at x.
    params, _, x, y = mlp
    fn = selected_logit_fn(params, y)
    hessians = jnp.stack([exact_hessian(fn, x, b) for b in range(x.shape[0])])
    estimator = functools.partial(hutchinson_trace, distribution=distribution)
    samples = _single_sample_estimates(estimator, fn, x, 40_000)
    variance = hutchinson_variance(hessians, distribution=distribution)
    _assert_mean_and_variance(samples, exact_traces(fn, x), variance)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_same_key_same_estimate_new_key_new_estimate(mlp, name):
    params, _, x, y = mlp
    fn = selected_logit_fn(params, y)
    a = ESTIMATORS[name](fn, x, jax.random.key(0))
    b = ESTIMATORS[name](fn, x, jax.random.key(0))
    c = ESTIMATORS[name](fn, x, jax.random.key(1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_taylor_reuses_given_fx_exactly(mlp):
    params, _, x, y = mlp
    fn = selected_logit_fn(params, y)
    key = jax.random.key(5)
    np.testing.assert_allclose(
        taylor_trace(fn, x, key, 0.1, num_samples=3, fx=fn(x)),
        taylor_trace(fn, x, key, 0.1, num_samples=3),
        rtol=1e-6,
    )
    # sigma by keyword, the natural call, gives the same estimate as by position.
    np.testing.assert_array_equal(
        taylor_trace(fn, x, key, sigma=0.1, num_samples=3),
        taylor_trace(fn, x, key, 0.1, num_samples=3),
    )


@pytest.mark.parametrize("central", [False, True])
def test_taylor_applies_fn_to_batches_of_the_original_size(central):
    # fn closes over labels of shape (B,): it must only ever see batches of B examples.
    y = jnp.array([0, 1, 0])

    def fn(x):
        assert x.shape == (3, 4), x.shape
        return jnp.where(y == 0, 1.0, -1.0) * jnp.sum(x**2, axis=-1)

    est = taylor_trace(
        fn, jnp.zeros((3, 4)), jax.random.key(0), 0.1, num_samples=5, central=central
    )
    # At x = 0 both differences are ±‖v‖²-based and so carry the sign of each example's label.
    np.testing.assert_array_equal(np.sign(est), [1.0, -1.0, 1.0])


def _parameter_gradient_matches_finite_difference(estimate_of_params, params, eps=1e-4):
    """∇θ of an estimate (fixed key) against central finite differences, in float64."""
    grads = jax.grad(estimate_of_params)(params)
    leaves, treedef = jax.tree.flatten(params)
    grad_leaves = jax.tree.leaves(grads)
    rng = np.random.default_rng(0)
    for leaf_index, (leaf, grad_leaf) in enumerate(zip(leaves, grad_leaves, strict=True)):
        for flat_index in rng.choice(leaf.size, size=min(3, leaf.size), replace=False):

            def shifted(delta, leaf=leaf, leaf_index=leaf_index, flat_index=flat_index):
                new = list(leaves)
                new[leaf_index] = leaf.reshape(-1).at[flat_index].add(delta).reshape(leaf.shape)
                return estimate_of_params(jax.tree.unflatten(treedef, new))

            fd = (shifted(eps) - shifted(-eps)) / (2 * eps)
            np.testing.assert_allclose(grad_leaf.reshape(-1)[flat_index], fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["exact"] + sorted(ESTIMATORS))
def test_estimates_are_differentiable_in_closed_over_parameters(mlp, name):
    with jax.enable_x64(True):
        params, _, x, y = mlp
        params = jax.tree.map(lambda p: p.astype(jnp.float64), params)
        x = x.astype(jnp.float64)

        def estimate(p):
            fn = selected_logit_fn(p, y)
            if name == "exact":
                return jnp.sum(hessian_trace(fn, x, chunk_size=4))
            return jnp.sum(ESTIMATORS[name](fn, x, jax.random.key(3), num_samples=2))

        _parameter_gradient_matches_finite_difference(jax.jit(estimate), params)


def test_exact_trace_gradient_matches_jax_hessian_gradient(mlp):
    params, _, x, y = mlp

    def reference(p):
        return jnp.sum(exact_traces(selected_logit_fn(p, y), x))

    def ours(p):
        return jnp.sum(hessian_trace(selected_logit_fn(p, y), x, chunk_size=4))

    for g_ours, g_ref in zip(
        jax.tree.leaves(jax.grad(ours)(params)),
        jax.tree.leaves(jax.grad(reference)(params)),
        strict=True,
    ):
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-4, atol=1e-5)


def test_closed_form_variances_match_direct_expansion():
    # Rademacher: Var(zᵀHz) = 2 Σ_{i≠j} H_ij², enumerated over all 2^D sign vectors.
    h = np.array([[1.0, 2.0, -1.0], [2.0, 3.0, 0.5], [-1.0, 0.5, -2.0]])
    signs = np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T
    forms = np.einsum("ni,ij,nj->n", signs, h, signs)
    np.testing.assert_allclose(
        hutchinson_variance(h, distribution="rademacher"), forms.var(), rtol=1e-6
    )
    np.testing.assert_allclose(
        hutchinson_variance(h, num_samples=4), 2 * np.sum(h**2) / 4, rtol=1e-6
    )
    g = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(
        taylor_variance(h, g, 0.5, num_samples=2),
        (2 * np.sum(h**2) + 4 * np.sum(g**2) / 0.25) / 2,
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        taylor_variance(h, g, 0.5, central=True), 2 * np.sum(h**2), rtol=1e-6
    )


BAD_ARGUMENTS = [
    (lambda fn, x: taylor_trace(fn, x, jax.random.key(0), 0.0), ValueError, "sigma"),
    (lambda fn, x: taylor_trace(fn, x, jax.random.key(0), -1.0), ValueError, "sigma"),
    (
        lambda fn, x: taylor_trace(fn, x, jax.random.key(0), 1.0, num_samples=0),
        ValueError,
        "num_samples",
    ),
    (
        lambda fn, x: hutchinson_trace(fn, x, jax.random.key(0), num_samples=0),
        ValueError,
        "num_samples",
    ),
    (
        lambda fn, x: hutchinson_trace(fn, x, jax.random.key(0), num_samples=2.0),
        TypeError,
        "num_samples",
    ),
    (
        lambda fn, x: hutchinson_trace(fn, x, jax.random.key(0), distribution="uniform"),
        ValueError,
        "uniform",
    ),
    (lambda fn, x: hessian_trace(fn, x, chunk_size=0), ValueError, "chunk_size"),
    (lambda fn, x: hessian_trace(fn, x.astype(jnp.int32)), TypeError, "int32"),
    (lambda fn, x: hessian_trace(lambda z: z, x), ValueError, r"\(3,\)"),
    (lambda fn, x: taylor_trace(fn, x, jax.random.key(0), 1.0, fx=jnp.zeros(2)), ValueError, "fx"),
    (lambda fn, x: hutchinson_variance(jnp.eye(2), distribution="x"), ValueError, "gaussian"),
    (lambda fn, x: taylor_variance(jnp.eye(2), jnp.ones(2), 0.0), ValueError, "sigma"),
]


@pytest.mark.parametrize("call, error, match", BAD_ARGUMENTS)
def test_bad_arguments_raise_naming_the_argument(call, error, match):
    fn = lambda x: jnp.sum(x**2, axis=-1)  # noqa: E731
    with pytest.raises(error, match=match):
        call(fn, jnp.ones((3, 4)))


def test_hutchinson_modes_agree_probe_by_probe_with_the_exact_hessian(mlp):
    # Same probes, so both modes must give the same vᵀHv per probe; the reference builds H with
    # jax.hessian and forms the quadratic forms in numpy. Gradients with respect to the
    # parameters must agree too (training differentiates through the estimator).
    params, _, x, y = mlp
    fn = selected_logit_fn(params, y)
    key, n = jax.random.key(5), 3
    probes = np.asarray(jax.random.normal(key, (n, *x.shape)))
    hessians = np.stack([np.asarray(exact_hessian(fn, x, b)) for b in range(x.shape[0])])
    flat = probes.reshape(n, x.shape[0], -1)
    expected = np.einsum("nbi,bij,nbj->b", flat, hessians, flat) / n
    got = {}
    for mode in ("reverse", "forward"):
        got[mode] = hutchinson_trace(fn, x, key, num_samples=n, mode=mode)
        np.testing.assert_allclose(got[mode], expected, rtol=1e-4, atol=1e-4)

    def loss(p, mode):
        return jnp.sum(hutchinson_trace(selected_logit_fn(p, y), x, key, num_samples=n, mode=mode))

    g_rev, g_fwd = (jax.grad(loss)(params, m) for m in ("reverse", "forward"))
    for a, b in zip(jax.tree.leaves(g_rev), jax.tree.leaves(g_fwd), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)  # float32, entries up to ~10
    with pytest.raises(ValueError, match="forward"):
        hutchinson_trace(fn, x, key, mode="jet")


@pytest.mark.parametrize("central", [False, True])
def test_one_sample_taylor_makes_plain_calls_not_a_loop(mlp, central):
    # Differentiating a rolled loop of convolutional forward passes made a CPU score-matching
    # step 40x the baseline's (benchmarks/step_cost.py): with one sample there must be no loop.
    params, _, x, y = mlp
    jaxpr = jax.make_jaxpr(
        lambda p: taylor_trace(selected_logit_fn(p, y), x, jax.random.key(0), 0.1, central=central)
    )(params)
    assert not {"scan", "while"} & {e.primitive.name for e in jaxpr.jaxpr.eqns}


def test_several_samples_loop_unrolled_on_cpu(mlp):
    # ... and with several, the loop over them is unrolled on CPU (rolled: 40x, unrolled: 6x).
    params, _, x, y = mlp
    for estimator in (
        lambda fn: taylor_trace(fn, x, jax.random.key(0), 0.1, num_samples=3),
        lambda fn: hutchinson_trace(fn, x, jax.random.key(0), num_samples=3),
    ):
        jaxpr = jax.make_jaxpr(lambda p, e=estimator: e(selected_logit_fn(p, y)))(params)
        scans = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "scan"]
        assert jax.default_backend() != "cpu" or [e.params["unroll"] for e in scans] == [3]
