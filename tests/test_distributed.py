"""Several processes, one mesh: two local processes (gloo CPU collectives) against one process
with two devices, resume after killing every process, and a dying rank stopping the launcher."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from gradjax.training.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
STEPS_PER_EPOCH = 1437 // 64  # digits: 1,437 training images, batch 64


def train_args(workdir, *extra, epochs=2):
    return [
        "train.py",
        "--dataset=digits",
        "--objective=score-matching",
        f"--epochs={epochs}",
        "--log-every=1",
        "--no-progress",
        f"--workdir={workdir}",
        *extra,
    ]


def run(args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "JAX_PLATFORMS": "cpu", **(env or {})},
        capture_output=True,
        text=True,
        **kwargs,
    )


def launch_args(num, *args):
    return ["-m", "gradjax.launch", "--num-processes", str(num), "--grace", "5", "--", *args]


def assert_same_params(a, b, **tol):
    pa, pb = RunDir(a).restore_params(), RunDir(b).restore_params()
    for u, v in zip(jax.tree.leaves(pa), jax.tree.leaves(pb), strict=True):
        np.testing.assert_allclose(u, v, **tol)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("mp") / "two"
    result = run(launch_args(2, *train_args(workdir)), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir, result.stdout


@pytest.mark.slow
def test_two_processes_equal_one_process_with_two_devices(two_process_run, tmp_path):
    workdir, output = two_process_run
    single = run(
        train_args(tmp_path / "one"),
        {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
        timeout=600,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    # Score-matching steps with Taylor noise and a sharded batch: the same global batches and
    # keys, so the same parameters up to the order of float32 reductions.
    assert_same_params(workdir, tmp_path / "one", rtol=1e-4, atol=1e-5)
    steps = [r["step"] for r in RunDir(workdir).metrics() if r["kind"] == "train"]
    assert steps == list(range(1, 2 * STEPS_PER_EPOCH + 1))  # written once, by rank 0
    assert "[rank 0] done" in output and "[rank 1] done" not in output


def test_eval_refuses_to_run_as_several_processes(tmp_path):
    result = run(launch_args(2, "eval.py", "--run", "a=b", "--out", str(tmp_path)), timeout=120)
    assert result.returncode == 2
    assert "evaluation runs in one process" in result.stdout


def children(pid):
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def rank_of(pid):
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return int(next(e for e in environ if e.startswith(b"GRADJAX_PROCESS_ID=")).split(b"=")[1])


def start_and_wait_for_step(workdir, step, *extra, epochs=2):
    launcher = subprocess.Popen(
        [sys.executable, *launch_args(2, *train_args(workdir, *extra, epochs=epochs))],
        cwd=ROOT,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and launcher.poll() is None:
        logged = [r["step"] for r in RunDir(workdir).metrics() if r["kind"] == "train"]
        if logged and logged[-1] >= step:
            return launcher
        time.sleep(0.05)
    raise AssertionError(f"never reached step {step}: {launcher.communicate()[0][-3000:]}")


@pytest.mark.slow
def test_killing_every_process_then_resuming_gives_the_uninterrupted_parameters(
    two_process_run, tmp_path
):
    killed = tmp_path / "killed"
    launcher = start_and_wait_for_step(killed, STEPS_PER_EPOCH + 3)
    ranks = children(launcher.pid)
    for pid in [*ranks, launcher.pid]:
        os.kill(pid, signal.SIGKILL)
    launcher.wait()
    assert not RunDir(killed).is_finished()
    resumed = run(launch_args(2, *train_args(killed, "--resume")), timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert_same_params(killed, two_process_run[0], rtol=0, atol=0)
    steps = [r["step"] for r in RunDir(killed).metrics() if r["kind"] == "train"]
    assert steps == list(range(1, 2 * STEPS_PER_EPOCH + 1))


@pytest.mark.slow
def test_a_dying_rank_stops_the_launcher_and_keeps_the_last_checkpoint(tmp_path):
    workdir = tmp_path / "dying"
    launcher = start_and_wait_for_step(workdir, STEPS_PER_EPOCH + 3, epochs=4)
    rank1 = next(pid for pid in children(launcher.pid) if rank_of(pid) == 1)
    os.kill(rank1, signal.SIGKILL)
    started = time.monotonic()
    output, _ = launcher.communicate(timeout=60)
    assert time.monotonic() - started < 60
    assert launcher.returncode != 0
    assert "rank 1 exited with status -9; stopping the other 1 process(es)" in output
    # The epoch-1 checkpoint is intact and restores.
    assert STEPS_PER_EPOCH in RunDir(workdir).steps()
    assert jax.tree.leaves(RunDir(workdir).restore_params(STEPS_PER_EPOCH))


def test_the_entry_points_import_before_jax_distributed_initialize():
    """Whatever train.py, eval.py and gradjax.cli.reproduce import must not start the backend (a
    jax array built at import did, once), or no multi-process run gets past its start."""
    from gradjax.cli.launch import free_port

    code = (
        "import jax, train, eval, gradjax.cli.reproduce; "
        f"jax.distributed.initialize('localhost:{free_port()}', 1, 0); print(jax.process_count())"
    )
    result = run(["-c", code], timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr[-3000:]
