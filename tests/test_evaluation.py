"""Evaluation measurements against closed forms and brute force, and eval.py end to end on small
digits models."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import eval as eval_cli
from gradjax.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.data import load_dataset, to_float
from gradjax.evaluation import (
    corner_mask,
    density_ratio_curve,
    density_ratios,
    energy_inside,
    gan_test_accuracy,
    gradient_ascent,
    perturb,
    perturbation_correct,
    relevance_ranks,
    shift_logits,
    tempered_loss_gradients,
)
from gradjax.evaluation.runner import MEASUREMENTS, EvalSettings, evaluate_runs
from gradjax.gradients import logit_gradients, loss_gradients
from gradjax.training import fit


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
    curve = density_ratio_curve(
        jax.jit(lambda x, y, k: density_ratios(gaussian_logits, x, y, k, sigmas)),
        [(x[:3], y[:3]), (x[3:], y[3:])],
        key,
    )
    assert curve["mean"].shape == (3,) and curve["mean"][0] == 0 and curve["std"][0] == 0
    # Expected value −½σ²D: noisy images are less likely under this density.
    assert curve["mean"][2] < curve["mean"][1] < 0


def test_noise_free_gradient_ascent_with_a_small_step_increases_the_logit():
    x0 = jax.random.uniform(jax.random.key(0), (4, 3, 3, 1))
    y = jnp.array([3, 2, 1, 0])
    x, trajectory = gradient_ascent(gaussian_logits, x0, y, steps=20, step_size=0.01)
    assert trajectory.shape == (21, 4)
    assert bool(jnp.all(jnp.diff(trajectory, axis=0) > 0))
    assert bool(jnp.all((x >= 0) & (x <= 1)))
    # Unnormalised steps on −½‖x − m‖² contract towards m by (1 − α) each step.
    x, _ = gradient_ascent(gaussian_logits, x0, y, steps=30, step_size=0.1, normalize=False)
    m = (y / 4)[:, None, None, None]
    np.testing.assert_allclose(x, m + 0.9**30 * (x0 - m), rtol=1e-4, atol=1e-6)


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
    assert int(correct[0]) == clean_count
    # Everything replaced by the mean: each image is a constant; accuracy collapses.
    assert int(correct[2]) < 0.5 * int(correct[0])
    assert gan_test_accuracy(logits_fn, np.asarray(x), np.asarray(y), batch_size=64) == clean


def test_a_random_saliency_ranks_like_a_random_order(digits_problem):
    logits_fn, x, y = digits_problem
    fractions = jnp.linspace(0, 0.9, 10)
    random_relevance = jax.random.uniform(jax.random.key(0), x.shape[:3])
    by_saliency = perturbation_correct(logits_fn, x, y, random_relevance, fractions)
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


def train_digits(workdir, name, model="mlp", seed=0, dataset="digits", epochs=1):
    config = TrainConfig(
        data=DataConfig(dataset, batch_size=64),
        model=ModelConfig(model, width=8 if model == "cnn" else None),
        objective=ObjectiveConfig(name),
        optim=OptimConfig(lr=0.05),
        run=RunConfig(epochs=epochs, seed=seed, log_every=10, keep_checkpoints=None),
    )
    fit(config, workdir, progress=False)
    return workdir


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = {
        "baseline": train_digits(root / "baseline", "baseline", "cnn", epochs=2),
        "score-matching": train_digits(root / "sm", "score-matching", "cnn", epochs=2),
    }
    classifier = train_digits(root / "clf", "baseline", "mlp", seed=1)
    return runs, classifier


SMALL = EvalSettings(
    num_examples=60,
    batch_size=30,
    epoch_examples=30,
    samples_per_class=2,
    ascent_steps=5,
    fooling_steps=3,
    shown_examples=3,
    saliency_methods=("logit-gradient", "fullgrad"),
)


def test_evaluation_writes_every_figure_metrics_and_report(digits_runs, tmp_path):
    runs, classifier = digits_runs
    report = evaluate_runs(runs, tmp_path, gan_test_dir=classifier, settings=SMALL, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"accuracy", "density", "density_epochs", "samples", "gan_test"} <= set(metrics)
    assert {"perturbation", "fooling"} <= set(metrics)
    assert len(metrics["density_epochs"]["baseline"]["steps"]) == 2
    expected = {
        "density_ratio.png",
        "density_ratio_epochs.png",
        "perturbation_own.png",
        "perturbation_reference.png",
        "logit_gradients.png",
        "loss_gradients.png",
        "saliency_methods.png",
        "fooling.png",
        "shift_invariance.png",
    } | {f"{kind}_{run}.png" for kind in ("samples", "denoised") for run in runs}
    assert expected <= set(metrics["figures"])
    for figure in metrics["figures"]:
        assert (tmp_path / figure).stat().st_size > 1000, figure
    text = report.read_text()
    assert all(f"({figure})" in text for figure in metrics["figures"])
    acc = metrics["accuracy"]["baseline"]["accuracy"]
    assert f"| baseline | baseline | 0 | {100 * acc:.2f} |" in text
    # Shift invariance on a trained model: same accuracy and loss, gradients aligned to g.
    shift = metrics["fooling"]["shift"]
    assert shift["original"]["accuracy"] == shift["shifted"]["accuracy"]
    np.testing.assert_allclose(shift["original"]["ce"], shift["shifted"]["ce"], rtol=1e-4)
    assert shift["shifted"]["logit_gradient_cosine_to_pattern"] > 0.99
    # Determinism given the seed.
    again = evaluate_runs(
        runs,
        tmp_path / "again",
        measurements=("density",),
        settings=SMALL,
        progress=False,
    )
    repeat = json.loads((again.parent / "metrics.json").read_text())
    assert repeat["density"] == metrics["density"]


def test_no_dataset_figures_keeps_only_figures_without_data_images(digits_runs, tmp_path):
    runs, _ = digits_runs
    settings = dataclasses.replace(SMALL, dataset_figures=False)
    evaluate_runs(
        runs, tmp_path, measurements=("samples", "saliency-maps"), settings=settings, progress=False
    )
    written = json.loads((tmp_path / "metrics.json").read_text())["figures"]
    assert sorted(written) == sorted(f"samples_{run}.png" for run in runs)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(written)


def test_mismatched_empty_or_unknown_inputs_fail_cleanly(digits_runs, tmp_path, capsys):
    runs, _ = digits_runs
    other = train_digits(tmp_path / "mnist", "baseline", "mlp", dataset="mnist5k")
    with pytest.raises(ValueError, match="different datasets.*digits.*mnist5k"):
        evaluate_runs({**runs, "mnist": other}, tmp_path / "o", measurements=("accuracy",))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        evaluate_runs({"e": tmp_path / "empty"}, tmp_path / "o")
    with pytest.raises(ValueError, match="density-epochs"):
        evaluate_runs(runs, tmp_path / "o", measurements=("densty",))
    with pytest.raises(ValueError, match="--gan-test-model"):
        evaluate_runs(runs, tmp_path / "o", measurements=("gan-test",))
    # A checkpoint of another shape under a config that claims the same dataset.
    config = json.loads((other / "config.json").read_text())
    config["data"]["dataset"] = "digits"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not fit.*8×8×1"):
        evaluate_runs({"m": other}, tmp_path / "o", measurements=("accuracy",))
    # The command line: a message and exit status 2.
    code = eval_cli.main(["--run", f"m={other}", "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 2 and "does not fit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main(["--run", "nodir", "--out", "o"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        eval_cli.main(["--run", "a=b", "--out", "o", "--measurements", "samples,fooing"])
    assert "fooing" in capsys.readouterr().err
    assert set(MEASUREMENTS) >= {"density", "perturbation", "fooling"}
    assert dataclasses.asdict(SMALL)["num_examples"] == 60


def test_evaluation_images_are_drawn_across_a_class_sorted_test_split():
    # Image folders list the test split class by class: the first N images are one class.
    from gradjax.data import Dataset
    from gradjax.evaluation.runner import _choose

    labels = np.repeat(np.arange(10), 100).astype(np.int32)
    images = np.zeros((1000, 2, 2, 1), np.uint8)
    dataset = Dataset("sorted", images, labels, images, labels, tuple("0123456789"))
    _, chosen = _choose(dataset, 100, seed=0)
    counts = np.bincount(chosen, minlength=10)
    # Hypergeometric draw of 100 from 10×100: each class 10 ± 3 (sd); all present.
    assert counts.min() >= 1 and counts.max() <= 25, counts
    np.testing.assert_array_equal(_choose(dataset, 100, seed=0)[1], chosen)
