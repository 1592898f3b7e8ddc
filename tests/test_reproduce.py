"""The study runner's order of work, without training: ``fit`` is replaced by a recorder."""

from __future__ import annotations

import json

import pytest

from gradjax import reproduce
from gradjax.presets import GAN_TEST_RUN, PRESETS
from gradjax.rundir import RunDir


@pytest.fixture
def trained(monkeypatch):
    """Names of the runs ``train_all`` trains, in order; each "training" writes nothing."""
    names = []

    def fake_fit(config, path, *, resume, progress):
        names.append(path.name)
        return {"test_accuracy": 0.5}

    monkeypatch.setattr(reproduce, "fit", fake_fit)
    return names


def test_train_all_follows_the_fixed_order_and_returns_it(trained, tmp_path):
    preset = PRESETS["cifar10"]
    dirs = reproduce.train_all(preset, tmp_path, "data.tar", progress=False)
    order = list(preset.run_configs("data.tar"))
    assert trained == order == list(dirs)
    assert dirs[GAN_TEST_RUN] == tmp_path / GAN_TEST_RUN


def test_first_runs_go_before_the_fixed_order_once(trained, tmp_path):
    preset = PRESETS["cifar10"]
    first = ("anti-score-matching", "gradient-norm")
    dirs = reproduce.train_all(preset, tmp_path, "data.tar", first=first, progress=False)
    order = list(preset.run_configs("data.tar"))
    assert trained == [*first, *(n for n in order if n not in first)]
    assert list(dirs) == order  # the evaluation sees the runs in the fixed order
    with pytest.raises(ValueError, match="no run"):
        reproduce.train_all(preset, tmp_path, "data.tar", first=("no-such-run",))


def test_the_command_line_names_an_unknown_first_run(trained, tmp_path, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(
            ["cifar10", "--data-dir", "x.tar", "--runs-dir", str(tmp_path), "--first", "nope"]
        )
    assert "no run ['nope']" in capsys.readouterr().err
    assert trained == []


def test_status_follows_the_training_order_and_sums_the_time_until_each_run_is_done(tmp_path):
    preset = PRESETS["cifar10"]
    baseline = RunDir(tmp_path / "baseline")
    baseline.path.mkdir()
    records = [
        {"kind": "epoch", "epoch": e, "step": 390 * e, "epoch_seconds": s, "test_accuracy": a}
        for e, s, a in ((1, 100.0, 0.4), (2, 300.0, 0.5), (3, 250.0, 0.6))
    ]
    baseline.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    lines = reproduce.status(preset, tmp_path, "data.tar", first=("baseline-seed1",))
    # Median epoch 250 s. A second seed costs the baseline's; the classifier 0.81 of it.
    seed1, base, classifier = 40 * 250.0, 37 * 250.0, 40 * 250.0 * 0.81
    assert lines[0] == f"  baseline-seed1: 0/40 epochs, left {seed1 / 3600:.2f} h, done in " + (
        f"{seed1 / 3600:.2f} h"
    )
    assert lines[1] == (
        f"  baseline: 3/40 epochs, test accuracy 0.6000, left {base / 3600:.2f} h, "
        f"done in {(seed1 + base) / 3600:.2f} h"
    )
    assert lines[2].startswith(
        f"  gan-test-classifier: 0/40 epochs, left {classifier / 3600:.2f} h, "
        f"done in {(seed1 + base + classifier) / 3600:.2f} h"
    )
    assert [line.split(":")[0].strip() for line in lines[:-1]] == reproduce.training_order(
        preset.run_configs("data.tar"), ("baseline-seed1",)
    )
    ratios = [preset.cost_ratio.get(n, 1.0) for n in preset.run_configs("data.tar")]
    total = 250.0 * (40 * sum(ratios) - 3)
    assert lines[-1] == f"  total left: {total / 3600:.2f} h"


def test_status_eta_from_the_median_epoch_and_step_cost_ratios(tmp_path):
    lines = reproduce.status(PRESETS["cifar10"], tmp_path, "data.tar")
    assert lines[0] == "  baseline: 0/40 epochs, left ?"
    assert lines[-1] == "  total left: unknown for 6 run(s) until the baseline's first epoch ends"
    # ETA from the median epoch: a paused epoch (3600 s) does not inflate it.
    (tmp_path / "baseline").mkdir()
    seconds = (100.0, 3600.0, 120.0)
    (tmp_path / "baseline" / "metrics.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "kind": "epoch",
                    "step": 10 * (i + 1),
                    "epoch": i + 1,
                    "test_accuracy": 0.5,
                    "epoch_seconds": t,
                }
            )
            + "\n"
            for i, t in enumerate(seconds)
        )
    )
    lines = reproduce.status(PRESETS["cifar10"], tmp_path, "data.tar")
    left = 37 * 120 / 3600
    assert lines[0] == (
        f"  baseline: 3/40 epochs, test accuracy 0.5000, left {left:.2f} h, done in {left:.2f} h"
    )
    ratios = PRESETS["cifar10"].cost_ratio
    assert f"left {40 * 120 * ratios['score-matching'] / 3600:.2f} h," in lines[2]
    # Every run has an estimate now (those without a ratio cost a baseline epoch).
    assert f"left {40 * 120 * ratios[GAN_TEST_RUN] / 3600:.2f} h," in lines[1]  # by name
    total = 37 * 120 + 40 * 120 * (1 + sum(ratios.values()))  # baseline-seed1 costs a baseline
    assert lines[-1] == f"  total left: {total / 3600:.2f} h"
