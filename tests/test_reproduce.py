"""The study runner's order of work, without training: ``fit`` is replaced by a recorder."""

from __future__ import annotations

import pytest

from gradjax import reproduce
from gradjax.presets import GAN_TEST_RUN, PRESETS


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
