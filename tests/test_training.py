"""Training: schedules, data-parallel equivalence, SIGKILL/resume equivalence, the NaN guard and
train.py's command-line errors."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import train
from gradjax.cli import train as train_cli_module
from gradjax.core.objectives import OBJECTIVES
from gradjax.studies.registry import STUDIES
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.training.fit import fit, optimizer_of
from gradjax.training.guards import LossWatch, NonFiniteLossError
from gradjax.training.optim import make_optimizer
from gradjax.training.rundir import CheckpointError, RunDir


def read_metrics(workdir):
    return RunDir(workdir).metrics()


def is_finished(workdir):
    return RunDir(workdir).is_finished()


def restore_params(workdir):
    return None, RunDir(workdir).restore_params()


ROOT = Path(__file__).resolve().parents[1]


def learning_rates(optim, total_steps, steps_in_epoch):
    """The learning rate applied at each step, read off SGD without momentum on a unit grad."""
    tx = optimizer_of(TrainConfig(optim=optim), total_steps, steps_in_epoch)
    params = np.zeros(1, np.float32)
    state = tx.init(params)
    rates = []
    for _ in range(total_steps):
        updates, state = tx.update(np.ones(1, np.float32), state, params)
        rates.append(-float(updates[0]))
    return np.array(rates)


def test_schedules_follow_their_definitions():
    base = OptimConfig(lr=0.1, momentum=0.0, weight_decay=0.0)
    steps = np.arange(100)
    cosine = learning_rates(base, 100, 10)
    np.testing.assert_allclose(
        cosine, 0.05 * (1 + np.cos(np.pi * steps / 100)), rtol=1e-5, atol=1e-8
    )
    step = learning_rates(OptimConfig(0.1, 0.0, False, 0.0, "step"), 100, 10)
    np.testing.assert_allclose(step, 0.1 * np.select([steps < 50, steps < 75], [1, 0.1], 0.01))
    warm = learning_rates(OptimConfig(0.1, 0.0, False, 0.0, "constant", 2.0), 100, 10)
    np.testing.assert_allclose(warm[:20], 0.1 * steps[:20] / 20, atol=1e-7)
    np.testing.assert_allclose(warm[20:], 0.1)


def test_weight_decay_is_added_to_the_gradient():
    tx = make_optimizer(lr=1.0, total_steps=10, schedule="constant", momentum=0.0, weight_decay=0.5)
    params = np.full(1, 2.0, np.float32)
    updates, _ = tx.update(np.zeros(1, np.float32), tx.init(params), params)
    np.testing.assert_allclose(updates, [-1.0])


def small_config(epochs=2, **objective):
    return TrainConfig(
        data=DataConfig("digits", batch_size=64),
        model=ModelConfig("mlp"),
        objective=ObjectiveConfig(**{"name": "score-matching", **objective}),
        optim=OptimConfig(lr=0.05),
        run=RunConfig(epochs=epochs, log_every=1, keep_checkpoints=None),
    )


MULTI_DEVICE_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    from gradjax.training.data import load_dataset, to_float
    from gradjax.models import make_model
    from gradjax.core.objectives import make_objective
    from gradjax.training.optim import make_optimizer
    from gradjax.training.steps import (
        compile_train_step,
        data_mesh,
        make_train_step,
        place_state,
        shard_batch,
    )
    from flax.training.train_state import TrainState

    assert jax.device_count() == 8, jax.devices()
    data = load_dataset("digits")
    x, y = to_float(data.train_images[:64]), data.train_labels[:64]
    model = make_model("cnn", 10, width=8)
    loss_fn = make_objective(model.apply, "score-matching")
    finals = []
    for devices in (jax.devices()[:1], jax.devices()):
        mesh = data_mesh(devices)
        params = model.init(jax.random.key(0), x[:1])
        tx = make_optimizer(lr=0.05, total_steps=100)
        state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
        step = compile_train_step(make_train_step(loss_fn, seed=0), mesh)
        for i in range(5):
            batch = (x[16 * (i % 4): 16 * (i % 4 + 1)], y[16 * (i % 4): 16 * (i % 4 + 1)])
            state, _ = step(state, shard_batch(batch, mesh))
        assert len(jax.tree.leaves(state.params)[0].sharding.device_set) == len(devices)
        finals.append(jax.tree.map(np.asarray, state.params))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(
        jax.tree.leaves(finals[0]), jax.tree.leaves(model.init(jax.random.key(0), x[:1]))))
    assert moved > 1e-3, moved
    for a, b in zip(jax.tree.leaves(finals[0]), jax.tree.leaves(finals[1])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    print("OK", moved)
    """
)


def run_python(args, env_extra=None, **kwargs):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs
    )


def test_eight_cpu_devices_give_the_single_device_parameters():
    # Five score-matching steps (double backprop + Taylor noise), batch 16 split over 8 devices.
    result = run_python(
        ["-c", MULTI_DEVICE_SCRIPT],
        {"XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK" in result.stdout


def train_cli(workdir, *extra):
    return [
        "train.py",
        "--objective=score-matching",
        "--dataset=digits",
        "--model=mlp",
        "--epochs=2",
        "--batch-size=64",
        "--lr=0.05",
        "--log-every=1",
        "--no-progress",
        f"--workdir={workdir}",
        *extra,
    ]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path):
    steps_per_epoch = 1437 // 64  # digits: 1,437 training images; partial batches dropped
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, *train_cli(killed)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Kill once a few steps of the second epoch are logged (after the first checkpoint).
    deadline = time.monotonic() + 300
    target = steps_per_epoch + 3
    while time.monotonic() < deadline and process.poll() is None:
        steps = [r["step"] for r in read_metrics(killed) if r["kind"] == "train"]
        if steps and steps[-1] >= target:
            break
        time.sleep(0.02)
    assert process.poll() is None, f"run ended before it could be killed: {process.stderr.read()}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    logged = [r["step"] for r in read_metrics(killed) if r["kind"] == "train"]
    assert steps_per_epoch < logged[-1] < 2 * steps_per_epoch, logged[-1]
    assert not is_finished(killed)

    resumed = run_python(train_cli(killed, "--resume"), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    uninterrupted = run_python(train_cli(tmp_path / "straight"), timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]

    assert is_finished(killed) and is_finished(tmp_path / "straight")
    _, a = restore_params(killed)
    _, b = restore_params(tmp_path / "straight")
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    # The metrics log has each step once, in order.
    steps = [r["step"] for r in read_metrics(killed) if r["kind"] == "train"]
    assert steps == list(range(1, 2 * steps_per_epoch + 1))


def test_stopping_after_an_epoch_then_resuming_equals_an_uninterrupted_run(tmp_path):
    config = small_config(epochs=3, name="baseline")
    record = fit(config, tmp_path / "stopped", progress=False, stop_after_epoch=1)
    assert record["epoch"] == 1 and not is_finished(tmp_path / "stopped")
    # Stopping at or before the epochs done trains nothing and reports the last epoch.
    again = fit(config, tmp_path / "stopped", resume=True, progress=False, stop_after_epoch=1)
    assert again == record
    fit(config, tmp_path / "stopped", resume=True, progress=False)
    fit(config, tmp_path / "straight", progress=False)
    assert is_finished(tmp_path / "stopped")
    _, a = restore_params(tmp_path / "stopped")
    _, b = restore_params(tmp_path / "straight")
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="stop_after_epoch"):
        fit(config, tmp_path / "zero", progress=False, stop_after_epoch=0)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    fit(small_config(epochs=2), tmp_path, progress=False, stop_after_epoch=1)
    first = restore_params(tmp_path)[1]
    # The same run resumed with an optimiser whose learning rate explodes (the config, which a
    # resume must match, is unchanged).
    import gradjax.training.fit as fit_module

    monkeypatch.setattr(
        fit_module,
        "optimizer_of",
        lambda config, total, steps: make_optimizer(lr=1e12, total_steps=total),
    )
    with pytest.raises(NonFiniteLossError, match=r"step \d+: .*not finite.*(mu|learning rate)"):
        fit(small_config(epochs=2), tmp_path, resume=True, progress=False)
    kept = restore_params(tmp_path)[1]
    for u, v in zip(jax.tree.leaves(first), jax.tree.leaves(kept), strict=True):
        np.testing.assert_array_equal(u, v)


def test_existing_run_needs_resume(tmp_path):
    fit(small_config(epochs=1, name="baseline"), tmp_path, progress=False)
    assert is_finished(tmp_path)
    records = [r for r in read_metrics(tmp_path) if r["kind"] == "epoch"]
    assert len(records) == 1 and 0.0 <= records[0]["test_accuracy"] <= 1.0
    assert json.loads((tmp_path / "config.json").read_text())["objective"]["name"] == "baseline"
    with pytest.raises(FileExistsError, match="--resume"):
        fit(small_config(epochs=1), tmp_path, progress=False)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--objective", "sm"], "invalid choice: 'sm'"),
        (["--sigma", "-1"], "objective.sigma must be finite and > 0, got -1.0"),
        (["--epochs", "0"], "run.epochs must be finite and >= 1, got 0"),
        (["--dataset", "imagenet-xxl"], "--dataset: invalid choice"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_message(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        train.main([*argv, "--workdir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_dir_is_reported_by_name(capsys, tmp_path):
    missing = tmp_path / "no-such-folder"
    code = train.main(["--dataset", "folder", "--data-dir", str(missing), "--workdir", "w"])
    assert code == 2
    assert str(missing) in capsys.readouterr().err


# Reading the damaged checkpoint fails inside orbax, which leaves one of its read coroutines
# unclosed (a warning from orbax's internals, not from gradjax's fallback that this test checks).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_latest_checkpoint_falls_back_on_resume_and_is_named_on_evaluation(tmp_path):
    fit(small_config(epochs=2, name="baseline"), tmp_path, progress=False)
    run = RunDir(tmp_path)
    first, latest = run.steps()
    # Truncate the largest data file of the latest checkpoint, as a full disk or a kill would.
    files = [p for p in (tmp_path / "checkpoints" / str(latest)).rglob("*") if p.is_file()]
    biggest = max(files, key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 3])
    with pytest.raises(CheckpointError, match=f"checkpoints/{latest}.*damaged"):
        RunDir(tmp_path).restore_params()
    # Resuming warns, moves the damaged checkpoint aside and continues from the previous one.
    with pytest.warns(RuntimeWarning, match=f"checkpoints/{latest}.*previous checkpoint"):
        fit(small_config(epochs=2, name="baseline"), tmp_path, resume=True, progress=False)
    assert (tmp_path / "checkpoints-damaged" / str(latest)).exists()
    assert RunDir(tmp_path).steps() == [first, latest] and RunDir(tmp_path).is_finished()
    steps = [r["step"] for r in read_metrics(tmp_path) if r["kind"] == "train"]
    assert steps == sorted(set(steps))  # the re-trained epoch is logged once


def test_the_train_step_compiles_once_across_steps():
    import chex
    import jax.numpy as jnp
    from flax.training.train_state import TrainState

    from gradjax.core.objectives import make_objective
    from gradjax.models import make_model
    from gradjax.training.data import load_dataset, to_float
    from gradjax.training.optim import make_optimizer
    from gradjax.training.steps import (
        compile_train_step,
        data_mesh,
        make_train_step,
        place_state,
        shard_batch,
    )

    data = load_dataset("digits")
    model = make_model("mlp", 10)
    state = TrainState.create(
        apply_fn=model.apply,
        params=model.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1))),
        tx=make_optimizer(lr=0.05, total_steps=10),
    )
    step = make_train_step(make_objective(model.apply, "score-matching"), seed=0)
    mesh = data_mesh()
    state = place_state(state, mesh)
    compiled = compile_train_step(chex.assert_max_traces(step, n=1), mesh)
    for i in range(4):
        batch = (
            to_float(data.train_images[32 * i : 32 * (i + 1)]),
            data.train_labels[32 * i : 32 * (i + 1)],
        )
        state, _ = compiled(state, shard_batch(batch, mesh))
    assert int(state.step) == 4


def test_a_climbing_loss_warns_once():
    said = []
    watch = LossWatch(said.append, lr=1.0, window=3)
    for step, loss in enumerate([2.3, 2.2, 2.3, 2.1, 2.0, 1.9]):
        watch(step, loss)
    assert said == []
    for step, loss in enumerate([4.0, 6.0, 8.0, 9.0], start=6):
        watch(step, loss)
    assert len(said) == 1 and "climbed from 2.27" in said[0] and "learning rate (1)" in said[0]


def test_train_py_prints_the_dataset_defaults_it_uses(capsys, tmp_path):
    _, config, source = train_cli_module.parse(
        ["--dataset", "digits", "--lr", "0.2", "--workdir", "w"]
    )
    assert (config.model.name, config.data.batch_size, config.optim.lr) == ("mlp", 64, 0.2)
    assert config.objective.lam == OBJECTIVES["score-matching"].lam  # resolved, not None
    line = train_cli_module.describe(config, source)
    assert "digits: objective score-matching, model mlp, lr 0.2, batch 64" in line


def test_no_flag_trains_on_the_embedded_data_and_help_shows_every_default(capsys):
    _, config, _ = train_cli_module.parse(["--workdir", "w"])
    assert (config.data.dataset, config.model.name, config.run.epochs) == ("mnist5k", "cnn", 4)
    with pytest.raises(SystemExit):
        train_cli_module.parse(["--help"])
    text = capsys.readouterr().out
    for shown in ("--batch-size", "--warmup-epochs", "(default:", "mnist5k: model cnn"):
        assert shown in text


def study_cli(study, run, *extra):
    needs_data = STUDIES[study].needs_data_dir
    return ["--study", study, "--run", run, *(["--data-dir", "d"] if needs_data else []), *extra]


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_a_study_run_from_train_py_is_the_studys_config(study):
    data_dir = "d" if STUDIES[study].needs_data_dir else None
    for run, config in STUDIES[study].configs(data_dir).items():
        _, got, source = train_cli_module.parse([*study_cli(study, run), "--workdir", "w"])
        assert got == config.resolved(), run
        assert source == f"study {study}, run {run}"


def test_flags_override_a_study_run_one_setting_each():
    base = STUDIES["cifar10-6ep"].configs("d")["score-matching"].resolved()
    _, config, _ = train_cli_module.parse(
        [*study_cli("cifar10-6ep", "score-matching"), "--epochs", "9", "--mu", "0.01"]
        + ["--workdir", "w"]
    )
    assert config.run == dataclasses.replace(base.run, epochs=9)
    assert config.objective == dataclasses.replace(base.objective, mu=0.01)
    assert (config.data, config.model, config.optim) == (base.data, base.model, base.optim)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--study", "mnist5k"], "--study and --run go together"),
        (["--run", "baseline"], "--study and --run go together"),
        (["--study", "mnist5k", "--run", "nope"], "has no run 'nope'"),
        (["--stop-after-epoch", "3", "--epochs", "1"], "beyond --epochs 1"),
    ],
)
def test_study_run_and_impossible_combinations_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        train_cli_module.parse([*argv, "--workdir", "w"])
    assert message in capsys.readouterr().err
