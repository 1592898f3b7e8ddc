"""Evaluation maths (density ratios, sampling, pixel perturbation, fooling, sanity checks)
against closed forms and brute force."""

import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gradjax.core.gradients import logit_gradients, loss_gradients
from gradjax.evaluation import (
    corner_mask,
    density_ratios,
    energy_inside,
    gradient_ascent,
    normalised_saliency,
    perturb,
    perturbation_correct,
    relevance_ranks,
    shift_logits,
    tempered_loss_gradients,
)
from gradjax.evaluation.maths.pixel_perturbation import normalised_auc_statistic
from gradjax.evaluation.measurements import samples
from gradjax.training.data import load_dataset, to_float


def gaussian_logits(x):
    """f_c(x) = −½‖x − m_c‖² with m_c = c/4 everywhere: the ratio has a closed form."""
    flat = x.reshape(x.shape[0], -1)
    means = jnp.arange(4.0)[:, None] / 4 * jnp.ones(flat.shape[1])
    return -0.5 * jnp.sum((flat[:, None] - means[None]) ** 2, -1)


def test_density_ratio_is_zero_at_sigma_zero_and_matches_the_closed_form():
    x = jax.random.uniform(jax.random.key(0), (6, 3, 3, 1))
    y = jnp.array([0, 1, 2, 3, 0, 1])
    key = jax.random.key(1)
    sigmas = jnp.array([0.0, 0.1, 1.0])
    ratios = density_ratios(gaussian_logits, x, y, key, sigmas)
    np.testing.assert_array_equal(ratios[0], 0.0)
    eta = jax.random.normal(key, x.shape)
    m = (y / 4)[:, None]
    flat, noise = x.reshape(6, -1), eta.reshape(6, -1)
    for i, s in enumerate(sigmas):
        expected = -0.5 * (jnp.sum((flat + s * noise - m) ** 2, 1) - jnp.sum((flat - m) ** 2, 1))
        np.testing.assert_allclose(ratios[i], expected, rtol=1e-4, atol=1e-5)
    # Expected value −½σ²D: noisy images are less likely under this density.
    assert float(ratios[2].mean()) < float(ratios[1].mean()) < 0


@pytest.mark.parametrize("unroll", [False, True])
def test_noise_free_gradient_ascent_with_a_small_step_increases_the_logit(unroll):
    x0 = jax.random.uniform(jax.random.key(0), (4, 3, 3, 1))
    y = jnp.array([3, 2, 1, 0])
    x, trajectory = gradient_ascent(
        gaussian_logits, x0, y, steps=20, step_size=0.01, normalize=True, unroll=unroll
    )
    assert trajectory.shape == (21, 4)
    assert bool(jnp.all(jnp.diff(trajectory, axis=0) > 0))
    assert bool(jnp.all((x >= 0) & (x <= 1)))
    # Unnormalised steps (the paper's rule) on −½‖x − m‖² contract towards m by (1 − α) each.
    x, _ = gradient_ascent(gaussian_logits, x0, y, steps=30, step_size=0.1, unroll=unroll)
    m = (y / 4)[:, None, None, None]
    np.testing.assert_allclose(x, m + 0.9**30 * (x0 - m), rtol=1e-4, atol=1e-6)


def test_sample_ascent_compiles_once_per_architecture_and_matches_gradient_ascent():
    # Two "runs" of one architecture (a linear model, parameters as arguments): one compilation,
    # and each result that of gradient_ascent with the parameters bound.
    def apply(params, x):
        return x.reshape(len(x), -1) @ params["w"]

    x0 = jax.random.uniform(jax.random.key(0), (4, 2, 2, 1))
    y = jnp.array([0, 1, 2, 0])
    settings = samples.Settings(steps=5, step_size=0.05)
    before = samples.ascend_fn._cache_size()
    for seed in (1, 2, 1):
        params = {"w": jax.random.normal(jax.random.key(seed), (4, 3))}
        got, trajectory = samples.ascend_fn(apply, params, x0, y, jax.random.key(0), 5, settings)
        want, want_trajectory = gradient_ascent(
            lambda x, p=params: apply(p, x), x0, y, steps=5, step_size=0.05
        )
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(trajectory, want_trajectory, rtol=1e-6, atol=1e-7)
    assert samples.ascend_fn._cache_size() == before + 1


def test_ascent_in_segments_keeps_each_snapshot_and_ends_where_one_ascent_does():
    # Segments 3 + 7 steps against one ascent of 3 and one of 10 (no Langevin noise).
    def apply(params, x):
        return jnp.tanh(x.reshape(len(x), -1) @ params["w"])

    run = types.SimpleNamespace(
        apply_fn=apply, params={"w": jax.random.normal(jax.random.key(3), (4, 3))}
    )
    x0 = jax.random.uniform(jax.random.key(0), (4, 2, 2, 1))
    y = jnp.array([0, 1, 2, 0])
    settings = samples.Settings(steps=10, step_size=0.05, snapshots=(3,))
    kept, trajectory = samples.ascend_in_segments(run, x0, y, jax.random.key(0), settings)
    assert sorted(kept) == [3, 10] and trajectory.shape == (11, 4)
    logits_fn = functools.partial(apply, run.params)
    for steps in (3, 10):
        want, want_trajectory = gradient_ascent(logits_fn, x0, y, steps=steps, step_size=0.05)
        np.testing.assert_allclose(kept[steps], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trajectory, want_trajectory, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="snapshots"):
        samples.step_counts(samples.Settings(steps=10, snapshots=(20,)))


def test_relevance_ranks_and_perturb_match_a_loop():
    rng = np.random.default_rng(0)
    relevance = rng.random((2, 4, 4)).astype(np.float32)
    x = rng.random((2, 4, 4, 3)).astype(np.float32)
    ranks = np.asarray(relevance_ranks(jnp.asarray(relevance)))
    perturbed = np.asarray(perturb(jnp.asarray(x), jnp.asarray(ranks), 0.25))
    for b in range(2):
        order = np.argsort(relevance[b].ravel())
        assert sorted(ranks[b].ravel()) == list(range(16))
        expected = x[b].copy()
        for flat in order[:4]:  # 25% of 16 pixels, least relevant first
            expected[flat // 4, flat % 4] = x[b].mean(axis=(0, 1))
        np.testing.assert_allclose(perturbed[b], expected, rtol=1e-6)
    most = np.asarray(relevance_ranks(jnp.asarray(relevance), most_relevant_first=True))
    np.testing.assert_array_equal(most, 15 - ranks)


@pytest.fixture(scope="module")
def digits_problem():
    data = load_dataset("digits")
    x = to_float(data.test_images[:200])
    y = data.test_labels[:200].astype(np.int32)
    train_x, train_y = to_float(data.train_images), data.train_labels
    # A least-squares linear classifier on one-hot targets: independent of gradjax's training.
    flat = train_x.reshape(len(train_x), -1)
    w = np.linalg.lstsq(np.c_[flat, np.ones(len(flat))], np.eye(10)[train_y], rcond=None)[0]
    w = jnp.asarray(w, jnp.float32)

    def logits_fn(z):
        return jnp.c_[z.reshape(len(z), -1), jnp.ones(len(z))] @ w

    return logits_fn, jnp.asarray(x), jnp.asarray(y)


def test_fraction_zero_gives_clean_accuracy_and_gan_test_of_real_images_is_accuracy(
    digits_problem,
):
    logits_fn, x, y = digits_problem
    clean_count = int(jnp.sum(jnp.argmax(logits_fn(x), -1) == y))
    clean = clean_count / len(x)
    assert clean > 0.8
    relevance = jnp.sum(jnp.abs(logit_gradients(logits_fn, x, y)), -1)
    correct = perturbation_correct(logits_fn, x, y, relevance, jnp.array([0.0, 0.5, 1.0]))
    assert correct.shape == (3, len(x))
    np.testing.assert_array_equal(correct[0], jnp.argmax(logits_fn(x), -1) == y)
    # Everything replaced by the mean: each image is a constant; accuracy collapses.
    assert int(correct[2].sum()) < 0.5 * clean_count and clean > 0.8


def test_a_random_saliency_ranks_like_a_random_order(digits_problem):
    logits_fn, x, y = digits_problem
    fractions = jnp.linspace(0, 0.9, 10)
    random_relevance = jax.random.uniform(jax.random.key(0), x.shape[:3])
    by_saliency = perturbation_correct(logits_fn, x, y, random_relevance, fractions).sum(1)
    # A random order built independently: a permutation per image turned into ranks.
    perms = np.stack([np.random.default_rng(i).permutation(64) for i in range(len(x))])
    ranks = np.argsort(perms, axis=1).reshape(-1, 8, 8)
    by_order = [
        int(jnp.sum(jnp.argmax(logits_fn(perturb(x, jnp.asarray(ranks), f)), -1) == y))
        for f in fractions
    ]
    # Two independent random orders: binomial noise of sd ≤ √(200·¼) ≈ 7 images each.
    np.testing.assert_allclose(np.asarray(by_saliency), by_order, atol=4 * 7 * np.sqrt(2))


def test_shift_keeps_loss_gradients_and_tempered_loss_gradients_cancel_the_shift(digits_problem):
    logits_fn, x, y = digits_problem
    shifted = shift_logits(logits_fn, lambda z: 5.0 * jnp.sum(jnp.sin(3 * z), axis=(1, 2, 3)))
    np.testing.assert_allclose(
        loss_gradients(shifted, x, y), loss_gradients(logits_fn, x, y), atol=1e-4
    )
    # At temperature T: ∇CE(f/T) ≈ (mean_i ∇f_i − ∇f_y)/T, identical for f and f + g.
    t = 1e3
    grads = jax.jacrev(lambda z: logits_fn(z).sum(0))(x)  # (C, B, ...): linear model
    expected = (grads.mean(0) - grads[y, jnp.arange(len(y))]) / t
    # The first-order error is relative, of order max|f|/T (softmax(f/T) = uniform + O(f/T)).
    tol = 2 * float(jnp.max(jnp.abs(logits_fn(x)))) / t
    got = tempered_loss_gradients(logits_fn, x, y, t)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * float(jnp.abs(expected).max()))


def test_energy_inside_and_corner_mask():
    mask = corner_mask(32, 32)
    assert float(mask.sum()) == 225 and float(mask[:15, :15].min()) == 1
    assert corner_mask(28, 28).sum() == 13 * 13
    g = jnp.zeros((1, 32, 32, 3)).at[0, 0, 0, 0].set(3.0).at[0, 20, 20, 1].set(4.0)
    np.testing.assert_allclose(energy_inside(g, mask), [9.0 / 25.0])


def test_fooling_saliency_is_l1_normalised():
    g = jax.random.normal(jax.random.key(0), (3, 5, 5, 2))
    s = normalised_saliency(g)
    np.testing.assert_allclose(s.sum((1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        s, jnp.abs(g).sum(-1) / jnp.abs(g).sum((1, 2, 3))[:, None, None], rtol=1e-5
    )


def test_sanity_checks_on_a_linear_model():
    # f_c(x) = w_c·x: the logit-gradient map is |w_y|; re-drawing the only layer gives an
    # unrelated map, explaining another class gives |w_other|.
    import flax.linen as nn

    from gradjax.evaluation.maths.randomisation import (
        layer_names,
        other_classes,
        randomise_top,
        spearman,
    )

    class Linear(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(4)(x.reshape(x.shape[0], -1))

    model = Linear()
    x = jax.random.uniform(jax.random.key(0), (64, 6, 6, 1))
    y = jnp.arange(64) % 4
    params = model.init(jax.random.key(1), x)
    assert layer_names(params) == ["Dense_0"]
    grads = lambda p, labels: jnp.abs(logit_gradients(lambda z: model.apply(p, z), x, labels))  # noqa: E731
    original = grads(params, y)
    np.testing.assert_allclose(spearman(original, original), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(
        randomise_top(params, jax.random.key(2), 0)["params"]["Dense_0"]["kernel"],
        params["params"]["Dense_0"]["kernel"],
    )
    shuffled = spearman(original, grads(randomise_top(params, jax.random.key(2), 1), y))
    # Independent random weights: rank correlation over 36 pixels has sd ≈ 1/√35 ≈ 0.17 per
    # image; the mean over 64 images is within 4·0.17/8 of 0.
    assert abs(float(shuffled.mean())) < 4 * 0.17 / 8
    other = other_classes(y, 4, jax.random.key(3))
    assert bool(jnp.all(other != y)) and set(np.asarray(other).tolist()) <= {0, 1, 2, 3}
    # Reversed ranks give −1: the correlation's sign is right.
    np.testing.assert_allclose(spearman(original, -original), -1.0, rtol=1e-6)
    # Ties take their average rank, as Spearman's definition (scipy.stats.rankdata) has it:
    # [0, 0, 1, 2] against [0, 1, 2, 3] is Pearson of ranks [0.5, 0.5, 2, 3] and [0, 1, 2, 3].
    tied = spearman(jnp.array([[0.0, 0.0, 1.0, 2.0]]), jnp.array([[0.0, 1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(tied, np.corrcoef([0.5, 0.5, 2, 3], [0, 1, 2, 3])[0, 1], rtol=1e-6)


def test_the_normalised_auc_is_accuracy_kept_over_fractions_01_to_09():
    rng = np.random.default_rng(0)
    fractions = [0.0, 0.05, 0.1, 0.5, 0.9, 0.95]
    correct = rng.random((6, 30)) < 0.7
    statistic = normalised_auc_statistic(fractions)
    accuracy = correct.mean(1)
    np.testing.assert_allclose(statistic(correct), accuracy[[2, 3, 4]].mean() / accuracy[0])
    # Resampled images on an inner axis, as the bootstrap passes them.
    index = rng.integers(0, 30, (4, 30))
    resampled = statistic(correct[:, index])
    for r in range(4):
        a = correct[:, index[r]].mean(1)
        np.testing.assert_allclose(resampled[r], a[[2, 3, 4]].mean() / a[0])
