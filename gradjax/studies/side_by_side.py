"""The device plan of a study: its runs trained at once, each as its own ``train.py`` process,
sharing one accelerator (their kernels take turns; the memory is split between them). On a GPU
this keeps the device busy where one small run alone would leave it idle between kernels."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from gradjax.studies.plan import Work
from gradjax.training.config import TrainConfig
from gradjax.training.rundir import RunDir


def command(piece: Work, config_path: Path, workdir: RunDir, epochs: int) -> list[str]:
    """The ``train.py`` command of one piece: the run's config, to ``piece.until`` epochs."""
    cmd = [sys.executable, "-m", "gradjax.cli.train", "--config", str(config_path)]
    cmd += ["--workdir", str(workdir.path), "--no-progress"]
    if piece.until < epochs:
        cmd += ["--stop-after-epoch", str(piece.until)]
    if workdir.steps():
        cmd.append("--resume")
    return cmd


def train_side_by_side(
    runs_dir: Path, pieces: list[Work], configs: Mapping[str, TrainConfig]
) -> dict[str, int]:
    """Starts every training piece at once and waits for all; returns each run's exit status.
    Each process logs to ``<runs_dir>/<run>.log`` and gets ``0.9 / len(pieces)`` of the
    accelerator's memory."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    share = f"{0.9 / max(1, len(pieces)):.3f}"
    env = {**os.environ, "XLA_PYTHON_CLIENT_MEM_FRACTION": share}
    started = {}
    for piece in pieces:
        config_path = runs_dir / f"{piece.name}.config.json"
        config_path.write_text(configs[piece.name].to_json())
        cmd = command(
            piece, config_path, RunDir(runs_dir / piece.name), configs[piece.name].run.epochs
        )
        with open(runs_dir / f"{piece.name}.log", "a") as log:
            started[piece.name] = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
    return {name: process.wait() for name, process in started.items()}


__all__ = ["command", "train_side_by_side"]
