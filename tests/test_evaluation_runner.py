"""evaluate_runs and eval.py end to end on small digits models: every measurement, its figures
and report, resuming from kept pieces, clear errors."""

import json

import jax
import numpy as np
import pytest

import eval as eval_cli
from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import (
    MEASUREMENTS,
    attribution_quality,
    clamp,
    fooling,
    perturbation,
    perturbation_fills,
    samples,
    sanity,
    score_matching_objective,
)
from gradjax.evaluation.runner import evaluate_runs, read_per_image, write_per_image
from gradjax.evaluation.saliency_methods import SaliencyOptions
from gradjax.evaluation.stats import (
    mcnemar_p,
    wilson_interval,
)
from gradjax.training.batches import draw_examples
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
    model_of,
)
from gradjax.training.data import load_dataset, to_float
from gradjax.training.fit import fit
from gradjax.training.rundir import RunDir


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
    report = evaluate(runs, tmp_path, judges={"plain": classifier})
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
        runs, tmp_path / "again", judges={"plain": classifier}, measurements=("gan-test",)
    )
    repeat = json.loads((again.parent / "metrics.json").read_text())["measurements"]
    assert list(repeat) == ["samples", "gan-test"]
    assert repeat["gan-test"] == measured["gan-test"]  # and deterministic given the seed


def test_an_interrupted_evaluation_resumes_from_its_kept_pieces(digits_runs, tmp_path, monkeypatch):
    runs, classifier = digits_runs
    chosen = ("accuracy", "density-epochs", "samples", "gan-test", "perturbation")
    kwargs = {"judges": {"plain": classifier}, "measurements": chosen}
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
    with pytest.raises(ValueError, match="needs a GAN-test judge"):
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


def test_per_image_values_come_back_as_the_float32_written(tmp_path):
    # Integral floats, mixed magnitudes (which numpy prints as "1." or "1.e-08") and non-finite
    # values, in one and two dimensions; bools and ints as they are.
    values = np.array([1.0, 0.5, 1e-3, 1e-8, 0.1, np.nan, np.inf, -np.inf, 3e7], np.float32)
    arrays = {
        "density/a/ratio": values,
        "density/a/grid": values[:8].reshape(2, 4),
        "accuracy/a/correct": np.array([True, False]),
        "samples/a/label": np.array([3, 7]),
    }
    write_per_image(tmp_path / "p.json", arrays)
    back = read_per_image(tmp_path / "p.json")
    for key, array in arrays.items():
        np.testing.assert_array_equal(back[key].astype(array.dtype), array)
    write_per_image(tmp_path / "again.json", back)
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "p.json").read_bytes()
