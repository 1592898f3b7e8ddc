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
from gradjax.data import draw_examples, load_dataset, to_float
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
from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import (
    MEASUREMENTS,
    accuracy_epochs,
    attribution_quality,
    clamp,
    fooling,
    perturbation,
    perturbation_fills,
    samples,
    sanity,
    score_matching_objective,
)
from gradjax.evaluation.runner import evaluate_runs
from gradjax.evaluation.seeds import seed_partner
from gradjax.evaluation.stats import (
    excludes_zero,
    mcnemar_p,
    paired_difference,
    verdict,
    wilson_interval,
)
from gradjax.evaluation.verdicts import verdict_lines
from gradjax.gradients import logit_gradients, loss_gradients
from gradjax.rundir import RunDir
from gradjax.saliency import SaliencyOptions
from gradjax.training import fit, model_of


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
        got, trajectory = samples.ascend_fn(apply, params, x0, y, jax.random.key(0), settings)
        want, want_trajectory = gradient_ascent(
            lambda x, p=params: apply(p, x), x0, y, steps=5, step_size=0.05
        )
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(trajectory, want_trajectory, rtol=1e-6, atol=1e-7)
    assert samples.ascend_fn._cache_size() == before + 1


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


SMALL_COMMON = Common(num_examples=60, batch_size=30)
SMALL = {
    "samples": samples.Settings(samples_per_class=2, steps=5, shown_per_class=2),
    "perturbation": perturbation.Settings(
        methods=("logit-gradient", "fullgrad"), saliency=SaliencyOptions(ig_steps=4)
    ),
    "fooling": fooling.Settings(steps=3, num_examples=30, shown_examples=3),
    "sanity": sanity.Settings(num_examples=20, methods=("logit-gradient", "fullgrad")),
    "score-matching-objective": score_matching_objective.Settings(compare_to="score-matching"),
    # Exact traces (D = 64): every draw is the same number, checked against jax.hessian.
    "clamp": clamp.Settings(estimator="exact", tau=0.0, num_examples=20, num_draws=2),
    "perturbation-fills": perturbation_fills.Settings(
        methods=("logit-gradient", "smoothgrad"),
        fills=("mean", "road"),
        saliency=SaliencyOptions(smoothgrad_samples=4),
    ),
    "attribution-quality": attribution_quality.Settings(
        num_examples=20,
        methods=("logit-gradient", "vargrad", "fullgrad"),
        saliency=SaliencyOptions(smoothgrad_samples=4),
        infidelity_perturbations=8,
        sensitivity_samples=3,
    ),
}


def evaluate(runs, out, **kwargs):
    kwargs = {"common": SMALL_COMMON, "settings": SMALL, "progress": False, **kwargs}
    return evaluate_runs(runs, out, **kwargs)


def test_evaluation_writes_every_figure_metrics_and_report(digits_runs, tmp_path):
    runs, classifier = digits_runs
    report = evaluate(runs, tmp_path, classifier_dir=classifier)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    measured = metrics["measurements"]
    assert set(measured) == set(MEASUREMENTS)
    seconds = json.loads((tmp_path / "timings.json").read_text())["seconds"]
    assert set(seconds) == set(MEASUREMENTS) and all(t >= 0 for t in seconds.values())
    assert len(measured["density-epochs"]["runs"]["baseline"]["steps"]) == 2
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
        "training_h.png",
        "clamp.png",
        "accuracy_epochs.png",
    } | {f"{kind}_{run}.png" for kind in ("samples", "denoised") for run in runs}
    assert expected <= set(metrics["figures"])
    for figure in metrics["figures"]:
        assert (tmp_path / figure).stat().st_size > 1000, figure
    text = report.read_text()
    assert all(f"({figure})" in text for figure in metrics["figures"])
    # The accuracy row is the fraction of test images right, recomputed here independently.
    data = load_dataset("digits")
    from gradjax.evaluation.context import load_run

    base = load_run("baseline", RunDir(runs["baseline"]), data)
    xs_all = to_float(data.test_images)
    right = np.mean(np.argmax(base.logits_fn()(xs_all), -1) == data.test_labels)
    acc = measured["accuracy"]["runs"]["baseline"]
    np.testing.assert_allclose(acc["value"], right)
    assert acc["low"] < acc["value"] < acc["high"]
    assert f"| baseline | {100 * right:.2f} [" in text
    # The samples' yardstick: mean f_y of the first two test images of each class, recomputed.
    picks = np.concatenate([np.flatnonzero(data.test_labels == c)[:2] for c in range(10)])
    logits = base.logits_fn()(xs_all[picks])
    np.testing.assert_allclose(
        measured["samples"]["runs"]["baseline"]["clean_logit_mean"],
        np.mean(logits[np.arange(len(picks)), data.test_labels[picks]]),
        rtol=1e-5,
    )
    assert "## Verdicts on the paper's claims" in text
    # Shift invariance on a trained model: same accuracy and loss, gradients aligned to g.
    shift = measured["fooling"]["shift"]
    assert shift["original"]["accuracy"] == shift["shifted"]["accuracy"]
    np.testing.assert_allclose(shift["original"]["ce"], shift["shifted"]["ce"], rtol=1e-4)
    assert shift["shifted"]["logit_gradient_cosine_to_pattern"] > 0.99
    # The fine-tune starts from the reference (the baseline): its accuracy on the first 30 of
    # the drawn images, recomputed; after − before is paired over those same images.
    xs, ys = draw_examples(data.test_images, data.test_labels, 60, SMALL_COMMON.seed)
    right = np.argmax(base.logits_fn()(xs[:30]), -1) == ys[:30]
    tune = measured["fooling"]["fine_tune"]
    np.testing.assert_allclose(tune["before"]["accuracy"]["value"], right.mean())
    np.testing.assert_allclose(
        tune["accuracy_change"]["value"],
        tune["after"]["accuracy"]["value"] - tune["before"]["accuracy"]["value"],
    )
    # The paper's protocol is the (mean fill, least relevant first) cell of perturbation-fills.
    for name, fills in measured["perturbation-fills"]["auc"].items():
        np.testing.assert_allclose(
            fills["mean"]["least"]["logit-gradient"]["value"],
            measured["perturbation"]["own"][name]["logit-gradient"]["auc"]["value"],
            rtol=1e-12,
        )
    # Held-out score-matching terms: on 8×8 digits the trace is exact; recompute the baseline's
    # mean h with jax.hessian, one image at a time.
    objective = measured["score-matching-objective"]
    assert objective["trace"] == "exact"
    one = lambda z, c: base.logits_fn()(z[None])[0, c]  # noqa: E731
    traces = [
        np.trace(np.asarray(jax.hessian(one)(xs[i], ys[i])).reshape(64, 64)) for i in range(60)
    ]
    np.testing.assert_allclose(
        objective["runs"]["baseline"]["h"]["value"], np.mean(traces), rtol=1e-3
    )
    np.testing.assert_allclose(
        list(objective["runs"]["baseline"]["h_percentiles"].values()),
        np.percentile(traces, [5, 50, 95]),
        rtol=1e-3,
        atol=1e-3,
    )
    # Accuracy over training: the last epoch is the accuracy measurement's model; at epoch 1
    # the score-matching run's difference to the baseline is recomputed from both checkpoints.
    assert measured["accuracy-epochs"]["seed_partner"] is None  # no run differs only in seed
    over = measured["accuracy-epochs"]["runs"]
    assert over["baseline"]["epochs"] == over["score-matching"]["epochs"] == [1, 2]
    for name in runs:
        np.testing.assert_allclose(
            over[name]["accuracy"][-1]["value"], measured["accuracy"]["runs"][name]["value"]
        )
    first = {}
    for name in runs:
        rundir = RunDir(runs[name])
        logits = base.apply_fn(rundir.restore_params(rundir.epoch_steps()[0]), xs_all)
        first[name] = np.argmax(logits, -1) == data.test_labels
    difference = over["score-matching"]["difference"]["by_epoch"][0]
    np.testing.assert_allclose(
        difference["value"], first["score-matching"].mean() - first["baseline"].mean()
    )
    assert difference["low"] <= difference["value"] <= difference["high"]
    np.testing.assert_allclose(
        difference["mcnemar_p"], mcnemar_p(first["score-matching"], first["baseline"])
    )
    # The clamp at each epoch: the share of training images whose exact trace is ≥ τ, and
    # the trace's percentiles, recomputed per checkpoint with jax.hessian.
    clamped = measured["clamp"]["runs"]["baseline"]
    assert clamped["epochs"] == [1, 2]
    xt, yt = draw_examples(data.train_images, data.train_labels, 20, SMALL_COMMON.seed)
    for i, step in enumerate(clamped["steps"]):
        logits = base.logits_fn(RunDir(runs["baseline"]).restore_params(step))
        one = lambda z, c, f=logits: f(z[None])[0, c]  # noqa: E731
        traces = [
            np.trace(np.asarray(jax.hessian(one)(xt[j], yt[j])).reshape(64, 64)) for j in range(20)
        ]
        above = np.sum(np.asarray(traces) >= 0.0)
        np.testing.assert_allclose(clamped["above_tau"]["value"][i], above / 20, atol=1e-12)
        interval = [clamped["above_tau"][k][i] for k in ("low", "high")]
        np.testing.assert_allclose(interval, wilson_interval(above, 20), atol=1e-12)
        np.testing.assert_allclose(
            [clamped["h_percentiles"][q][i] for q in ("5", "50", "95")],
            np.percentile(traces, [5, 50, 95]),
            rtol=1e-3,
            atol=1e-3,
        )
    # compare_to pairs every run with another: baseline vs SM is minus SM vs baseline.
    np.testing.assert_allclose(
        objective["runs"]["baseline"]["compared"]["value"],
        -objective["runs"]["score-matching"]["objective_difference"]["value"],
        rtol=1e-9,
    )
    # Relative infidelity is a fraction of the logit's change; sensitivities are positive.
    for table in measured["attribution-quality"]["runs"].values():
        for m in table.values():
            assert 0 <= m["infidelity"]["value"] <= 1
            assert m["max_sensitivity"]["value"] > 0
    # GAN-test needed samples: declared, so asking for gan-test alone runs samples too.
    again = evaluate(
        runs, tmp_path / "again", classifier_dir=classifier, measurements=("gan-test",)
    )
    repeat = json.loads((again.parent / "metrics.json").read_text())["measurements"]
    assert list(repeat) == ["samples", "gan-test"]
    assert repeat["gan-test"] == measured["gan-test"]  # and deterministic given the seed


def test_an_interrupted_evaluation_resumes_from_its_kept_pieces(digits_runs, tmp_path, monkeypatch):
    runs, classifier = digits_runs
    chosen = ("accuracy", "density-epochs", "samples", "gan-test", "perturbation")
    kwargs = {"classifier_dir": classifier, "measurements": chosen}
    plain = evaluate(runs, tmp_path / "plain", **kwargs).parent

    # Which pieces are computed rather than loaded, and an interruption inside pixel
    # perturbation after two of its four pieces (one per run × method, named "run/method").
    def per_method(piece):
        return "/" in piece and not piece.startswith("measurement/")

    computed, stop_after = [], [2]
    keep = EvalCache.get_or_compute

    def watched(self, key, compute):
        if not self.path(key).exists():
            if per_method(key["piece"]) and sum(map(per_method, computed)) == stop_after[0]:
                raise KeyboardInterrupt
            computed.append(key["piece"])
        return keep(self, key, compute)

    cache = tmp_path / "cache"
    monkeypatch.setattr(EvalCache, "get_or_compute", watched)
    with pytest.raises(KeyboardInterrupt):
        evaluate(runs, tmp_path / "first", cache_dir=cache, **kwargs)
    # Resumed: the two finished pieces are loaded, the other two computed.
    computed.clear()
    stop_after[0] = None
    resumed = evaluate(runs, tmp_path / "resumed", cache_dir=cache, **kwargs).parent
    assert sum(map(per_method, computed)) == 2
    # Again, into a new directory: all of it is loaded, the figures written again byte for
    # byte, the numbers those of an evaluation without a cache.
    computed.clear()
    again = evaluate(runs, tmp_path / "again", cache_dir=cache, **kwargs).parent
    expected = json.loads((plain / "metrics.json").read_text())
    for out in (resumed, again):
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["measurements"] == expected["measurements"]
        assert list(metrics["measurements"]["accuracy"]["runs"]) == list(runs)  # row order
        for figure in metrics["figures"]:
            assert (out / figure).read_bytes() == (plain / figure).read_bytes()
    assert computed == []
    # Loaded measurements keep the wall time they took when computed, and are listed as loaded.
    timings = {o: json.loads((o / "timings.json").read_text()) for o in (resumed, again)}
    assert timings[again]["seconds"] == timings[resumed]["seconds"]
    assert timings[again]["loaded_from_cache"] == list(chosen)
    assert "perturbation" not in timings[resumed]["loaded_from_cache"]  # computed on resuming
    assert "accuracy" in timings[resumed]["loaded_from_cache"]  # finished before the interruption
    # A model that changed is never served a kept result.
    retrained = dict(runs, baseline=runs["score-matching"], **{"score-matching": runs["baseline"]})
    evaluate(retrained, tmp_path / "swapped", cache_dir=cache, **kwargs)
    assert "measurement/accuracy" in computed and sum(map(per_method, computed)) == 4


def test_no_dataset_figures_keeps_only_figures_without_data_images(digits_runs, tmp_path):
    runs, _ = digits_runs
    common = Common(num_examples=60, batch_size=30, dataset_figures=False)
    evaluate(runs, tmp_path, measurements=("samples", "saliency-maps"), common=common)
    written = json.loads((tmp_path / "metrics.json").read_text())["figures"]
    assert sorted(written) == sorted(f"samples_{run}.png" for run in runs)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(written)


def test_mismatched_empty_or_unknown_inputs_fail_cleanly(digits_runs, tmp_path, capsys):
    runs, _ = digits_runs
    other = train_digits(tmp_path / "mnist", "baseline", "mlp", dataset="mnist5k")
    with pytest.raises(ValueError, match="different datasets.*digits.*mnist5k"):
        evaluate({**runs, "mnist": other}, tmp_path / "o", measurements=("accuracy",))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        evaluate({"e": tmp_path / "empty"}, tmp_path / "o")
    with pytest.raises(ValueError, match="density-epochs"):
        evaluate(runs, tmp_path / "o", measurements=("densty",))
    with pytest.raises(ValueError, match="--gan-test-model"):
        evaluate(runs, tmp_path / "o", measurements=("gan-test",))
    # A checkpoint of another shape under a config that claims the same dataset.
    config = json.loads((other / "config.json").read_text())
    config["data"]["dataset"] = "digits"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not fit.*8×8×1"):
        evaluate({"m": other}, tmp_path / "o", measurements=("accuracy",))
    # The command line: a message and exit status 2.
    code = eval_cli.main(["--run", f"m={other}", "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 2 and "does not fit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main(["--run", "nodir", "--out", "o"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        eval_cli.main(["--run", "a=b", "--out", "o", "--measurements", "samples,fooing"])
    assert "fooing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        eval_cli.main(["--run", "a=b", "--out", "o", "--set", "samples.stpes=3"])
    assert "no setting 'stpes'" in capsys.readouterr().err
    # Epochs: one that was never checkpointed, a run not given, a malformed flag.
    with pytest.raises(ValueError, match="no checkpoint of epoch 7.*kept epochs: 1, 2"):
        evaluate(runs, tmp_path / "o", measurements=("accuracy",), epochs={"baseline": 7})
    with pytest.raises(ValueError, match="no run.*'base'"):
        evaluate(runs, tmp_path / "o", measurements=("accuracy",), epochs={"base": 1})
    with pytest.raises(SystemExit):
        eval_cli.main(["--run", "a=b", "--out", "o", "--epoch", "a=0"])
    assert "NAME=EPOCH" in capsys.readouterr().err


def test_a_run_evaluated_at_an_earlier_epoch_uses_that_checkpoint(digits_runs, tmp_path):
    runs, _ = digits_runs
    code = eval_cli.main(
        [
            *("--run", f"early={runs['baseline']}", "--run", f"late={runs['baseline']}"),
            *("--epoch", "early=1", "--out", str(tmp_path), "--no-progress"),
            *("--measurements", "accuracy,density-epochs", "--num-examples", "60"),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["runs"]["early"]["epoch"] == 1 and "epoch" not in metrics["runs"]["late"]
    measured = metrics["measurements"]
    # Per-epoch measurements stop at the evaluated epoch.
    rundir = RunDir(runs["baseline"])
    assert measured["density-epochs"]["runs"]["early"]["steps"] == rundir.epoch_steps()[:1]
    assert measured["density-epochs"]["runs"]["late"]["steps"] == rundir.epoch_steps()
    # Accuracy of the epoch-1 parameters, recomputed from that checkpoint directly.
    data = load_dataset("digits")
    model = model_of(rundir.config, data.num_classes)
    params = rundir.restore_params(rundir.epoch_steps()[0])
    x, y = to_float(data.test_images), data.test_labels
    right = np.mean(np.argmax(model.apply(params, x), -1) == y)
    np.testing.assert_allclose(measured["accuracy"]["runs"]["early"]["value"], right)
    assert (
        "| early | baseline | 0 | cnn | taylor, 0.1 | epoch 1 |"
        in (tmp_path / "report.md").read_text()
    )


def test_wilson_interval_and_mcnemar_match_brute_force():
    # Wilson: the interval's ends are where the score test z = ±1.96 (solve by bisection-free
    # check): (p̂ − p)² n = z² p(1 − p) at both ends.
    k, n = 37, 120
    low, high = wilson_interval(k, n)
    for p in (low, high):
        np.testing.assert_allclose(
            (k / n - p) ** 2 * n, 1.959963984540054**2 * p * (1 - p), rtol=1e-9
        )
    # McNemar: the two-sided exact binomial test on the discordant pairs, by enumeration.
    a = np.array([1, 1, 1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([0, 0, 0, 0, 1, 1, 0, 1, 0, 1], bool)
    discordant, k_small = 5, 1  # 4 only-a, 1 only-b
    from math import comb

    expected = 2 * sum(comb(discordant, i) for i in range(k_small + 1)) / 2**discordant
    np.testing.assert_allclose(mcnemar_p(a, b), expected)


def test_paired_difference_interval_and_verdict():
    rng = np.random.default_rng(0)
    base = rng.normal(size=400)
    shifted = base + 0.5  # the same examples, every one 0.5 higher: no sampling noise at all
    d = paired_difference(shifted, base)
    np.testing.assert_allclose([d["value"], d["low"], d["high"]], 0.5, rtol=1e-9)
    assert verdict(d["low"], d["high"]) == "higher"
    noise = paired_difference(base, rng.permutation(base))  # a reordering: no true difference
    assert noise["low"] < 0 < noise["high"]
    assert verdict(noise["low"], noise["high"]) == "no difference detected"


def test_accuracy_difference_is_the_paired_bootstrap_with_scipys_exact_mcnemar():
    from scipy.stats import binomtest

    from gradjax.evaluation.stats import accuracy_difference

    rng = np.random.default_rng(1)
    b = rng.random(300) < 0.7
    a = b ^ (rng.random(300) < 0.15)  # about 15% of the answers flipped
    d = accuracy_difference(a, b, seed=3)
    np.testing.assert_allclose(d["value"], a.mean() - b.mean())
    assert d["low"] <= d["value"] <= d["high"] and d["n"] == 300
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    np.testing.assert_allclose(
        d["mcnemar_p"], binomtest(only_a, only_a + only_b, 0.5).pvalue, rtol=1e-9
    )
    # The interval is the paired bootstrap's at the same seed.
    p = paired_difference(a, b, seed=3)
    np.testing.assert_allclose([d["low"], d["high"]], [p["low"], p["high"]], rtol=0)


def test_excludes_zero_counts_an_endpoint_at_zero_as_covering_it():
    assert excludes_zero(0.1, 0.3) and excludes_zero(-0.3, -0.1)
    assert not excludes_zero(-0.1, 0.3)
    assert not excludes_zero(0.0, 0.3) and not excludes_zero(-0.3, 0.0)
    assert verdict(0.0, 0.3) == "no difference detected"
    assert verdict(-0.3, -0.1, lower="worse") == "worse"


def _run_config(objective: str, seed: int) -> dict:
    return dataclasses.asdict(
        TrainConfig(objective=ObjectiveConfig(objective), run=RunConfig(seed=seed))
    )


def test_seed_partner_is_the_run_differing_only_in_seed():
    configs = {
        "baseline": _run_config("baseline", 0),
        "score-matching": _run_config("score-matching", 0),
        "sm-seed1": _run_config("score-matching", 1),
        "baseline-seed1": _run_config("baseline", 1),
    }
    assert seed_partner(configs, "baseline") == "baseline-seed1"
    assert seed_partner(configs, "score-matching") == "sm-seed1"
    longer = {**configs["baseline"], "run": {**configs["baseline"]["run"], "seed": 1, "epochs": 9}}
    assert seed_partner({"baseline": configs["baseline"], "other": longer}, "baseline") is None
    with pytest.raises(KeyError, match="reference run 'gone'"):
        seed_partner(configs, "gone")


def test_verdicts_compare_each_difference_with_the_second_seeds():
    def diff(value):  # an accuracy difference whose interval excludes 0
        return {"value": value, "low": value - 0.001, "high": value + 0.001}

    runs = {
        n: {"config": _run_config(n.split("-seed")[0], 1 if "seed" in n else 0)}
        for n in ("baseline", "score-matching", "gradient-norm", "baseline-seed1")
    }
    metrics = {
        "runs": runs,
        "measurements": {
            "accuracy": {
                "difference": {
                    "score-matching": diff(-0.02),  # larger than the seeds' −0.01
                    "gradient-norm": diff(-0.005),  # smaller
                    "baseline-seed1": diff(-0.01),
                }
            }
        },
    }
    rows = {line.split(" | ")[0][2:]: line for line in verdict_lines(metrics) if "Table 1" in line}
    sm = next(v for k, v in rows.items() if k.startswith("score-matching"))
    gn = next(v for k, v in rows.items() if k.startswith("gradient-norm"))
    assert sm.endswith("| Δ = -1 [-1.1, -0.9] points | **reproduced** |")
    assert gn.endswith("**reproduced, within the seed-to-seed difference** |")
    # Without the second seed: three columns, no yardstick.
    del metrics["runs"]["baseline-seed1"]
    lines = verdict_lines(metrics)
    assert lines[0] == "| claim (paper) | our numbers (95% CI) | verdict |"
    assert not any("seed-to-seed" in line for line in lines)


def test_accuracy_epochs_report_holds_each_difference_against_the_seed_pair():
    def run(*diffs):  # accuracy differences at epochs 1, 2, 3, intervals ±0.001
        by_epoch = [{"value": v, "low": v - 0.001, "high": v + 0.001} for v in diffs]
        return {"difference": {"epochs": [1, 2, 3], "by_epoch": by_epoch}}

    runs = {
        "baseline": {},
        # Beyond the seeds at epoch 1; covers 0 at 2; excludes 0 but is within the seeds' at 3.
        "anti": run(-0.02, 0.0, 0.005),
        "seed1": run(0.01, -0.03, -0.008),
    }
    lines = accuracy_epochs._yardstick_lines("baseline", "seed1", runs)
    assert "reaches -3.00 points (epoch 2) and excludes 0 at 3 of 3 epochs" in lines[1]
    assert lines[-1] == "* anti: epoch 1"
    runs["anti"] = run(-0.02, -0.05, 0.005)  # beyond the seeds at epochs 1 and 2
    assert accuracy_epochs._yardstick_lines("baseline", "seed1", runs)[-1] == "* anti: epochs 1, 2"
    runs["anti"] = run(0.0, 0.0, 0.0)
    assert accuracy_epochs._yardstick_lines("baseline", "seed1", runs)[-1] == "* anti: none"
    assert accuracy_epochs._yardstick_lines("baseline", None, runs) == []


def test_fooling_saliency_is_l1_normalised():
    g = jax.random.normal(jax.random.key(0), (3, 5, 5, 2))
    s = normalised_saliency(g)
    np.testing.assert_allclose(s.sum((1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        s, jnp.abs(g).sum(-1) / jnp.abs(g).sum((1, 2, 3))[:, None, None], rtol=1e-5
    )


def test_fooling_intervals_are_paired_over_the_same_images_and_decide_the_verdicts():
    from gradjax.evaluation.measurements.fooling import fine_tune_summary

    rng = np.random.default_rng(0)
    n, t = 400, "loss_gradient_T1000"
    base = rng.uniform(0.1, 0.3, n)  # per-image energy before, shared by every kind
    before = {k: base for k in ("logit_gradient", "loss_gradient", t)}
    before["accuracy"] = rng.random(n) < 0.8

    def after(loss_rise):
        wobble = rng.normal(0, 0.02, n)
        return {
            "logit_gradient": base + 0.6 + wobble,
            "loss_gradient": base + loss_rise + wobble,
            t: base + 0.6 + wobble,
            "accuracy": before["accuracy"] & (rng.random(n) < 0.5),
        }

    resisting = after(0.05)
    tune = fine_tune_summary(before, resisting, t, seed=0)
    # Values are the plain per-image means, recomputed here.
    np.testing.assert_allclose(tune["before"]["loss_gradient"]["value"], base.mean())
    np.testing.assert_allclose(
        tune["rise"]["loss_gradient"]["value"], np.mean(resisting["loss_gradient"] - base)
    )
    np.testing.assert_allclose(
        tune["loss_rise_minus_half_logit_rise"]["value"],
        np.mean(resisting["loss_gradient"] - base)
        - 0.5 * np.mean(resisting["logit_gradient"] - base),
    )
    lost = int(np.sum(before["accuracy"] & ~resisting["accuracy"]))
    change = tune["accuracy_change"]
    np.testing.assert_allclose(change["value"], -lost / n)
    np.testing.assert_allclose(
        change["mcnemar_p"], mcnemar_p(resisting["accuracy"], before["accuracy"])
    )
    np.testing.assert_allclose(
        [tune["after"]["accuracy"][k] for k in ("low", "high")],
        wilson_interval(int(resisting["accuracy"].sum()), n),
    )
    # Pairing: the before-to-after spread of the images' energies (sd 0.06) cancels, leaving the
    # wobble (sd 0.02): the paired interval is about a third of an unpaired one's width.
    rise = tune["rise"]["loss_gradient"]
    unpaired = 2 * 1.96 * np.sqrt(2 * base.var() / n)
    assert rise["high"] - rise["low"] < 0.5 * unpaired
    # The bootstrap resamples with the evaluation's seed, as every other paired interval does.
    reseeded = fine_tune_summary(before, resisting, t, seed=1)["rise"]["loss_gradient"]
    assert reseeded == paired_difference(resisting["loss_gradient"], base, seed=1)
    assert reseeded["low"] != rise["low"]

    def verdicts(tune):
        metrics = {
            "runs": {},
            "measurements": {
                "fooling": {
                    "shift": {
                        "original": {"accuracy": 0.8},
                        "shifted": {"accuracy": 0.8, "logit_gradient_cosine_to_pattern": 1.0},
                    },
                    "fine_tune": tune,
                }
            },
        }
        return [line.split(" | ")[-1] for line in verdict_lines(metrics)[2:]]

    assert verdicts(tune) == ["**reproduced** |"] * 3
    # Loss-gradients that rise as much as logit-gradients: the resistance claim is contradicted,
    # and a tempered rise equal to the loss-gradients' is no difference.
    equal = after(0.6)
    equal[t] = equal["loss_gradient"]
    assert verdicts(fine_tune_summary(before, equal, t, seed=0))[1:] == [
        "**contradicted** |",
        "**no difference detected** |",
    ]


def test_sweep_table_places_each_run_in_its_lambda_mu_cell():
    from gradjax.evaluation.report import sweep_table

    def run(name, lam, mu):
        return {"config": {"objective": {"name": name, "lam": lam, "mu": mu}}}

    def rec(v):
        return {"value": v, "low": v, "high": v}

    runs = {"base": run("baseline", None, 1e-4), "a": run("score-matching", 1e-3, 1e-4)}
    runs["b"] = run("score-matching", 1e-5, 1e-2)
    metrics = {
        "runs": runs,
        "measurements": {
            "accuracy": {"runs": {"base": rec(0.9), "a": rec(0.912), "b": rec(0.934)}},
            "density": {
                "sigmas": [0.1, 0.5],
                "headline_sigma": 0.5,
                "runs": {n: {"value": [0.0, v]} for n, v in (("base", -1), ("a", -2.5), ("b", -7))},
            },
        },
    }
    lines = sweep_table(metrics)
    assert lines[2] == "| λ \\ μ | 0.0001 | 0.01 |"
    assert lines[4] == "| 1e-05 | – | 93.4 / – / -7 |"
    assert lines[5] == "| 0.001 | 91.2 / – / -2.5 | – |"


def test_estimator_table_has_one_row_per_score_matching_run_sorted_by_estimator_and_seed():
    from gradjax.evaluation.report import estimator_table

    def run(name, estimator, seed):
        return {
            "config": {"objective": {"name": name, "estimator": estimator}, "run": {"seed": seed}}
        }

    runs = {"base": run("baseline", "taylor", 0), "t1": run("score-matching", "taylor", 1)}
    runs |= {"t0": run("score-matching", "taylor", 0), "h0": run("score-matching", "hutchinson", 0)}
    accuracy = {"runs": {n: {"value": v} for n, v in (("t1", 0.5), ("t0", 0.25), ("h0", 0.75))}}
    lines = estimator_table({"runs": runs, "measurements": {"accuracy": accuracy}})
    assert [line.split(" | ")[:4] for line in lines[4:]] == [
        ["| hutchinson", "0", "h0", "75.00"],
        ["| taylor", "0", "t0", "25.00"],
        ["| taylor", "1", "t1", "50.00"],
    ]
    assert lines[4].endswith("| – | – | – | – | – |")
    one_estimator = {n: r for n, r in runs.items() if n != "h0"}
    assert estimator_table({"runs": one_estimator, "measurements": {}}) == []


def test_paper_table_sets_each_paper_objective_beside_the_papers_numbers():
    from gradjax.evaluation.report import PAPER_CIFAR100, paper_table
    from gradjax.evaluation.report_format import MISSING

    def rec(v):
        return {"value": v, "low": v - 0.01, "high": v + 0.01}

    runs = {
        n: {"config": {"objective": {"name": o}}}
        for n, o in (("b", "baseline"), ("sm", "score-matching"), ("extra", "no-such-objective"))
    }
    sigmas = [0.1, 0.5]
    measurements = {
        "accuracy": {"runs": {"b": rec(0.9), "sm": rec(0.8), "extra": rec(0.7)}},
        "density": {
            "sigmas": sigmas,
            "headline_sigma": 0.5,
            "runs": {
                n: {k: [0.0, v[k]] for k in v} for n, v in (("b", rec(-1.0)), ("sm", rec(-3.0)))
            },
            "difference": {"sm": {k: [0.0, v] for k, v in rec(-2.0).items()}},
        },
    }
    lines = paper_table({"runs": runs, "measurements": measurements})
    rows = [line.split(" | ") for line in lines[4:]]
    assert [r[0] for r in rows] == ["| b", "| sm"]  # only the paper's objectives, in run order
    assert rows[1][1:4] == [
        f"{PAPER_CIFAR100['score-matching'][0]:.2f}",
        f"{PAPER_CIFAR100['score-matching'][1]:.2f}",
        "80.00 [79.00, 81.00]",
    ]
    assert rows[1][4:6] == ["-3 [-3.01, -2.99]", "-2 [-2.01, -1.99]"]
    assert rows[0][5] == MISSING and rows[1][6] == MISSING  # the reference's Δ; no GAN-test
    # A further seed of a run gets its own row; a sweep (an objective at two settings) and a
    # single objective get no table.
    seed1 = {"config": {"objective": {"name": "baseline"}, "run": {"seed": 1}}}
    replicated = paper_table(
        {"runs": dict(runs, **{"b-seed1": seed1}), "measurements": measurements}
    )
    assert [line.split(" | ")[0] for line in replicated[4:]] == ["| b", "| sm", "| b-seed1"]
    sweep = dict(runs, sm2={"config": {"objective": {"name": "score-matching", "mu": 1e-3}}})
    assert paper_table({"runs": sweep, "measurements": measurements}) == []
    alone = {"b": runs["b"]}
    assert paper_table({"runs": alone, "measurements": measurements}) == []


def test_presets_train_the_reference_first_and_every_registered_objective():
    from gradjax.objectives import OBJECTIVES
    from gradjax.presets import GAN_TEST_RUN, PRESETS

    configs = PRESETS["cifar10"].run_configs("data.tar")
    assert list(configs)[:2] == ["baseline", GAN_TEST_RUN]
    assert set(configs) == {GAN_TEST_RUN, *OBJECTIVES, "baseline-seed1"}
    assert list(configs)[-1] == "baseline-seed1"  # replicates last
    assert configs["baseline-seed1"].run.seed == 1 and configs["baseline"].run.seed == 0
    assert configs["baseline-seed1"].objective == configs["baseline"].objective
    for bad in ((("no-such-run", 1),), (("baseline", 0),), (("baseline", 1), ("baseline", 1))):
        with pytest.raises(ValueError, match="replicates"):
            dataclasses.replace(PRESETS["cifar10"], replicates=bad).run_configs("data.tar")
    assert configs[GAN_TEST_RUN].model.name != configs["baseline"].model.name
    assert {c.optim for c in configs.values()} == {PRESETS["cifar10"].optim}  # one schedule
    sweep = PRESETS["mnist5k-sweep"].run_configs()
    assert sum(c.objective.name == "score-matching" for c in sweep.values()) == 9
    study = PRESETS["mnist5k-estimators"].run_configs()
    assert list(study)[:2] == ["baseline", GAN_TEST_RUN]
    assert study["sm-fd-ssm-seed1"].run.seed == 1 and study["sm-fd-ssm"].run.seed == 0
    assert study["sm-fd-ssm-seed1"].objective == study["sm-fd-ssm"].objective
    assert "baseline-seed1" in study and f"{GAN_TEST_RUN}-seed1" not in study


def test_paired_difference_over_several_statistics_matches_one_at_a_time():
    # (S, N) values: each row's interval must equal the interval of that row alone.
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 300)) + np.array([[0.0], [1.0], [-2.0]])
    b = rng.normal(size=(3, 300))
    joint = paired_difference(a, b, seed=4)
    for s in range(3):
        alone = paired_difference(a[s], b[s], seed=4)
        for k in ("value", "low", "high"):
            np.testing.assert_allclose(joint[k][s], alone[k], rtol=1e-12)
        assert alone["low"] < alone["value"] < alone["high"]


def test_sanity_checks_on_a_linear_model():
    # f_c(x) = w_c·x: the logit-gradient map is |w_y|; re-drawing the only layer gives an
    # unrelated map, explaining another class gives |w_other|.
    import flax.linen as nn

    from gradjax.evaluation.sanity import layer_names, other_classes, randomise_top, spearman

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


def test_training_h_figure_draws_every_run_on_its_own_steps(tmp_path, monkeypatch):
    # A 4-epoch and a 12-epoch run, and the 12-epoch run evaluated at its epoch-4 checkpoint:
    # each line on its own logged steps, the early-epoch one stopping at its checkpoint.
    from types import SimpleNamespace

    from gradjax.evaluation.measurements import score_matching_objective as smo

    def run(name, logged_steps, epoch=None, epoch_steps=()):
        log = [{"kind": "train", "step": s, "h": -float(s)} for s in logged_steps]
        log.append({"kind": "epoch", "step": logged_steps[-1], "epoch": 1})
        rundir = SimpleNamespace(metrics=lambda: log)
        return SimpleNamespace(name=name, rundir=rundir, epoch=epoch, epoch_steps=list(epoch_steps))

    drawn = {}
    monkeypatch.setattr(
        smo.figures, "line_plot", lambda path, x, curves, **kw: drawn.update(curves) or path
    )
    short = run("short", [50, 100, 150, 200])
    long = run("long", list(range(50, 701, 50)))
    early = run("long-at4", list(range(50, 701, 50)), epoch=4, epoch_steps=[62, 124, 186, 248])
    smo._h_figure(SimpleNamespace(runs=[short, long, early], out=tmp_path))
    assert set(drawn) == {"short", "long", "long-at4"}
    np.testing.assert_array_equal(drawn["short"]["x"], [50, 100, 150, 200])
    np.testing.assert_array_equal(drawn["long"]["x"], np.arange(50, 701, 50))
    np.testing.assert_array_equal(drawn["long-at4"]["x"], [50, 100, 150, 200])
    np.testing.assert_array_equal(drawn["long-at4"]["mean"], [-50, -100, -150, -200])


def test_line_plot_gives_more_than_ten_curves_distinct_colours(tmp_path, monkeypatch):
    from gradjax.evaluation import figures

    seen = []
    save = figures._save
    monkeypatch.setattr(
        figures,
        "_save",
        lambda fig, path: (
            seen.extend(line.get_color() for line in fig.axes[0].lines) or save(fig, path)
        ),
    )
    curves = {f"run{i}": {"mean": np.arange(3.0) + i} for i in range(12)}
    figures.line_plot(tmp_path / "p.png", np.arange(3), curves, xlabel="x", ylabel="y", title="t")
    assert len(seen) == 12 and len(set(seen)) == 12
