"""A run directory that cannot lie: resuming refuses other settings (naming each), a missing
run, an impossible stop; only the number of epochs may change, and that is recorded."""

import json

import pytest

import eval as eval_cli
import train
from gradjax.training.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.training.fit import fit
from gradjax.training.opening import changes_on_resume, check_stop
from gradjax.training.rundir import RunDir


def tiny(epochs=1, objective="baseline", lr=0.05):
    return TrainConfig(
        DataConfig("digits", batch_size=128),
        ModelConfig("mlp"),
        ObjectiveConfig(objective),
        OptimConfig(lr=lr),
        RunConfig(epochs=epochs, log_every=5, keep_checkpoints=None),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "baseline"
    fit(tiny(), path, progress=False)
    return path


def test_resuming_with_another_objective_or_lr_names_both_values(trained):
    with pytest.raises(ValueError, match=r"objective.name: 'baseline' → 'score-matching'"):
        fit(tiny(objective="score-matching"), trained, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"optim.lr: 0.05 → 0.2"):
        fit(tiny(lr=0.2), trained, resume=True, progress=False)
    refused, allowed = changes_on_resume(tiny(), tiny(epochs=3, lr=0.2).resolved())
    assert refused == ["optim.lr: 0.05 → 0.2"] and allowed == ["run.epochs: 1 → 3"]


def test_the_command_line_refuses_a_changed_resume_with_one_line(trained, capsys):
    code = train.main(
        ["--dataset", "digits", "--model", "mlp", "--objective", "gradient-norm"]
        + ["--epochs", "1", "--batch-size", "128", "--workdir", str(trained), "--resume"]
        + ["--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "objective.name: 'baseline' → 'gradient-norm'" in err
    assert json.loads((trained / "config.json").read_text())["objective"]["name"] == "baseline"


def test_extending_the_epochs_is_allowed_and_recorded(tmp_path):
    fit(tiny(epochs=1), tmp_path, progress=False)
    fit(tiny(epochs=2), tmp_path, resume=True, progress=False)
    records = RunDir(tmp_path).metrics()
    changed = [r for r in records if r["kind"] == "config"]
    assert changed and changed[0]["changed"] == ["run.epochs: 1 → 2"]
    assert [r["epoch"] for r in RunDir(tmp_path).epoch_records()] == [1, 2]
    assert RunDir(tmp_path).config.run.epochs == 2


def test_resume_on_a_missing_directory_and_an_impossible_stop_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        fit(tiny(), tmp_path / "nothing", resume=True, progress=False)
    for bad in (0, 2):
        with pytest.raises(ValueError, match="stop_after_epoch must be between 1 and"):
            check_stop(bad, 1)


def test_config_json_records_the_resolved_values(trained):
    recorded = json.loads((trained / "config.json").read_text())
    assert recorded["objective"]["lam"] == 0.0  # the baseline's λ, not null
    assert recorded["data"]["augment"] is False and recorded["run"]["epochs"] == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"data": {}}', "incomplete, no data.dataset, model.name, objective.name"),
        ("{not json", "not valid JSON"),
        ('{"data": [], "model": {"name": "mlp"}}', "incomplete"),
    ],
)
def test_a_damaged_config_json_is_one_line_naming_the_file(tmp_path, capsys, text, message):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ConfigError, match=message):
        RunDir(tmp_path).config  # noqa: B018
    code = eval_cli.main(["--run", f"r={tmp_path}", "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "config.json") in err and len(err.splitlines()) == 1
    code = train.main(["--workdir", str(tmp_path), "--resume", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "config.json") in err
