"""Opening a run directory for training, so that its record cannot lie: a new run refuses a
directory that already has checkpoints, a resumed one refuses a directory that is not a run and
settings that differ from those its config.json records (naming every differing field). Only
the number of epochs may change on resuming, which extends (or shortens) the schedule; the
change is recorded in metrics.jsonl."""

from __future__ import annotations

import json

from gradjax.training.config import TrainConfig
from gradjax.training.rundir import RunDir

# Fields a resumed run may change: where the data lies, and how the run logs and checkpoints
# (none of them changes what is trained). ``run.epochs`` is allowed too, and recorded.
BOOKKEEPING = {
    "data.data_dir",
    "objective.diagnostics",
    "run.log_every",
    "run.eval_batch_size",
    "run.keep_checkpoints",
    "run.checkpoint_minutes",
}


def check_stop(stop_after_epoch: int | None, epochs: int) -> None:
    """``stop_after_epoch`` must lie in ``[1, epochs]``."""
    if stop_after_epoch is not None and not 1 <= stop_after_epoch <= epochs:
        raise ValueError(
            f"stop_after_epoch must be between 1 and the schedule's {epochs} epochs, got "
            f"{stop_after_epoch}."
        )


def changes_on_resume(recorded: TrainConfig, asked: TrainConfig) -> tuple[list[str], list[str]]:
    """``(refused, allowed)`` differences between the run's recorded config and the one asked
    for, as ``"section.field: recorded → asked"``."""
    refused, allowed = [], []
    for line in recorded.resolved().differences(asked):
        field = line.split(":")[0]
        if field == "run.epochs":
            allowed.append(line)
        elif field not in BOOKKEEPING:
            refused.append(line)
    return refused, allowed


def open_for_training(run: RunDir, config: TrainConfig, resume: bool) -> list[str]:
    """Checks that ``config`` may train in ``run``; returns the allowed changes to record.

    Raises:
      FileExistsError: checkpoints exist and ``resume`` is false.
      FileNotFoundError: ``resume`` on a directory that is not a run.
      ValueError: ``resume`` with settings that differ from the recorded ones (each named).
      ConfigError: the recorded config.json is damaged.
    """
    if not resume:
        if run.steps():
            raise FileExistsError(
                f"{str(run.path)!r} already has checkpoints (latest step {run.steps()[-1]}); "
                "pass --resume to continue that run or choose a new --workdir."
            )
        return []
    if not run.is_run():
        raise FileNotFoundError(
            f"--resume: {str(run.path)!r} is not a run directory (no config.json); drop "
            "--resume to start a run there."
        )
    refused, allowed = changes_on_resume(run.config, config)
    if refused:
        raise ValueError(
            f"--resume: {str(run.path)!r} was trained with other settings; resuming would make "
            f"its record wrong: {'; '.join(refused)} (recorded → asked). Use a new --workdir."
        )
    return allowed


def record_changes(run: RunDir, step: int | None, changes: list[str]) -> None:
    """Appends the allowed changes of a resume to metrics.jsonl."""
    if changes:
        with run.open_metrics() as log:
            log.write(json.dumps({"kind": "config", "step": step or 0, "changed": changes}) + "\n")


__all__ = ["BOOKKEEPING", "changes_on_resume", "check_stop", "open_for_training", "record_changes"]
