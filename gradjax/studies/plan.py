"""What a go of a study does, and how long that takes: the work it has left (train runs to the
epochs a stage reads, evaluate the stage), each piece's estimated seconds, and, under
``--budget SECONDS``, the part of it that fits.

Estimates, best first: a run's own epoch times (the median of its ``metrics.jsonl``); the
seconds study.json recorded for it or for the stage when they were last made; the study's
measured ``epoch_seconds`` and each stage's ``expected_seconds``. A device plan
(``Study.side_by_side``) trains every run at once on one accelerator: their kernels take turns,
so an epoch of all of them costs the sum of their epochs, and the budget fixes how many epochs
the runs get (:func:`epochs_that_fit`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import NamedTuple

from gradjax.studies.spec import Stage, Study
from gradjax.training.config import TrainConfig
from gradjax.training.rundir import RunDir


class Work(NamedTuple):
    """One piece of a go: ``("train", run, from_epoch, to_epoch)`` or ``("evaluate", stage)``,
    with its estimated seconds (``None``: no estimate)."""

    kind: str
    name: str
    seconds: float | None
    start: int = 0
    until: int = 0


def epoch_seconds(study: Study, name: str, run: RunDir, record: Mapping) -> float | None:
    """Seconds one epoch of run ``name`` takes (see the module's order of estimates)."""
    epochs = run.epoch_records()
    if epochs:
        return statistics.median(r["epoch_seconds"] for r in epochs)
    past = record.get("runs", {}).get(name)
    if past and past.get("epochs"):
        return past["seconds"] / past["epochs"]
    return study.estimated_epoch_seconds(name)


def epochs_done(run: RunDir) -> int:
    """Epochs whose checkpoint is kept (a run needs its checkpoint to be read or resumed)."""
    kept = run.epoch_checkpoints()
    return max(kept, default=0)


def pending_work(
    study: Study,
    configs: Mapping[str, TrainConfig],
    stages: list[Stage],
    runs_dir,
    record: Mapping,
) -> list[Work]:
    """The work left, in order: for each stage not yet done, the training it needs (each run
    from the epochs it has to the epochs the stage reads) and then the stage itself."""
    reached: dict[str, int] = {}
    work = []
    for stage in stages:
        for name, until in stage.trained_runs().items():
            run = RunDir(runs_dir / name)
            until = configs[name].run.epochs if until is None else until
            have = reached.setdefault(name, epochs_done(run))
            if have < until:
                per_epoch = epoch_seconds(study, name, run, record)
                seconds = None if per_epoch is None else per_epoch * (until - have)
                work.append(Work("train", name, seconds, have, until))
                reached[name] = until
        past = record.get("stages", {}).get(stage.name, {})
        work.append(Work("evaluate", stage.name, past.get("seconds", stage.expected_seconds)))
    return work


def fitting(work: list[Work], budget: float | None) -> tuple[list[Work], float]:
    """The prefix of ``work`` whose estimates fit ``budget`` seconds (all of it for ``None``),
    a training piece cut to the epochs that fit, and the seconds it is estimated to take. A
    piece without an estimate is taken (its time is unknown until it runs)."""
    if budget is None:
        return work, sum(w.seconds or 0.0 for w in work)
    taken, used = [], 0.0
    for piece in work:
        if piece.seconds is None or used + piece.seconds <= budget:
            taken.append(piece)
            used += piece.seconds or 0.0
            continue
        if piece.kind == "train":
            per_epoch = piece.seconds / (piece.until - piece.start)
            epochs = int((budget - used) // per_epoch)
            if epochs > 0:
                taken.append(piece._replace(seconds=epochs * per_epoch, until=piece.start + epochs))
                used += epochs * per_epoch
        break
    return taken, used


def epochs_that_fit(
    per_epoch: Mapping[str, float], budget: float, evaluation: float, margin: float = 1.2
) -> int:
    """Epochs of one shared schedule that fit ``budget`` seconds when every run trains at once
    on one accelerator: ``budget ≥ evaluation + epochs · Σ_runs per_epoch · margin``; at least
    one. ``per_epoch``: each run's seconds per epoch alone on the device (one compiled step's
    cost times the steps of an epoch, say), ``margin`` for batches, test evaluation and turns."""
    if not per_epoch:
        raise ValueError("epochs_that_fit needs the runs' seconds per epoch")
    epoch = sum(per_epoch.values()) * margin
    return max(1, math.floor((budget - evaluation) / epoch))


def describe(work: list[Work]) -> list[str]:
    """One line per piece: what it does and its estimate."""
    lines = []
    for w in work:
        eta = "?" if w.seconds is None else f"{w.seconds / 60:.1f} min"
        what = (
            f"train {w.name}: epochs {w.start + 1}–{w.until}"
            if w.kind == "train"
            else (f"evaluate stage {w.name}")
        )
        lines.append(f"  {what} ({eta})")
    return lines


__all__ = ["Work", "describe", "epoch_seconds", "epochs_that_fit", "fitting", "pending_work"]
