"""The training loop: builds the model, optimiser and objective from a :class:`TrainConfig`
(the one place besides the command lines that unpacks configs), and runs epochs with orbax
checkpoints, a metrics log, exact mid-epoch resume, a non-finite-loss guard and a warning when
the loss climbs far above where it started (:mod:`gradjax.training.guards`); the run directory
is opened so that its record cannot lie (:mod:`gradjax.training.opening`).

Checkpoints are written at every epoch end and, for long runs, after every
``run.checkpoint_minutes`` of training; batches, augmentation and noise depend only on
``(seed, step)``, so a run killed anywhere and resumed ends where an uninterrupted one does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax.training.train_state import TrainState
from jax.sharding import Mesh
from tqdm.auto import tqdm

from gradjax.core.adversarial import pgd_l2
from gradjax.core.estimators import make_trace_fn
from gradjax.core.objectives import make_objective
from gradjax.training.accuracy import make_eval_step, score_split
from gradjax.training.augment import crop_flip
from gradjax.training.batches import steps_per_epoch, subset, train_batches
from gradjax.training.config import TrainConfig, model_of
from gradjax.training.data import Dataset, load_dataset
from gradjax.training.distributed import barrier, is_primary, process_rows
from gradjax.training.guards import LossWatch, NonFiniteLossError, describe_nonfinite
from gradjax.training.opening import check_stop, open_for_training, record_changes
from gradjax.training.optim import make_optimizer
from gradjax.training.rundir import RunDir
from gradjax.training.steps import (
    compile_train_step,
    data_mesh,
    make_train_step,
    place_state,
    shard_batch,
)


def objective_of(config: TrainConfig, apply_fn, *, diagnostics: bool = False):
    """``loss_fn(params, batch, key)`` of a run's objective section."""
    o = config.objective
    trace_fn = make_trace_fn(o.estimator, sigma=o.sigma, num_samples=o.num_samples)
    attack_fn = functools.partial(pgd_l2, epsilon=o.epsilon, steps=o.attack_steps)
    return make_objective(
        apply_fn,
        o.name,
        lam=o.lam,
        mu=o.mu,
        tau=o.tau,
        trace_fn=trace_fn,
        attack_fn=attack_fn,
        diagnostics=diagnostics,
    )


def optimizer_of(config: TrainConfig, total_steps: int, steps_in_epoch: int):
    """The optax chain a run's optimiser section describes (warm-up given in epochs)."""
    o = config.optim
    return make_optimizer(
        lr=o.lr,
        total_steps=total_steps,
        schedule=o.schedule,
        warmup_steps=int(o.warmup_epochs * steps_in_epoch),
        momentum=o.momentum,
        nesterov=o.nesterov,
        weight_decay=o.weight_decay,
        grad_clip=o.grad_clip,
    )


def create_state(config: TrainConfig, dataset: Dataset, total_steps: int, steps_in_epoch: int):
    """A freshly initialised :class:`TrainState` of the configured model and optimiser."""
    model = model_of(config, dataset.num_classes)
    params = model.init(jax.random.key(config.run.seed), jnp.zeros((1, *dataset.image_shape)))
    tx = optimizer_of(config, total_steps, steps_in_epoch)
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


@dataclasses.dataclass
class Compiled:
    """What one run trains with: its data, schedule length, initial state and the compiled
    train, diagnostics and evaluation steps."""

    train_x: object
    train_y: object
    steps: int
    epochs: int
    state: TrainState
    step_fn: object
    diagnose: object
    eval_step: object

    @property
    def total_steps(self) -> int:
        return self.steps * self.epochs


def compile_run(config: TrainConfig, dataset: Dataset, mesh: Mesh) -> Compiled:
    """The data, state and compiled steps of a (resolved) config."""
    train_x, train_y = subset(dataset.train_images, dataset.train_labels, config.data.train_subset)
    steps = steps_per_epoch(len(train_x), config.data.batch_size)
    state = create_state(config, dataset, steps * config.run.epochs, steps)
    step_fn = compile_train_step(
        make_train_step(
            objective_of(config, state.apply_fn),
            config.run.seed,
            augment=crop_flip if config.data.augment else None,
        ),
        mesh,
    )
    diagnose = (
        jax.jit(objective_of(config, state.apply_fn, diagnostics=True))
        if config.objective.diagnostics
        else None
    )
    eval_step = make_eval_step(state.apply_fn)
    return Compiled(train_x, train_y, steps, config.run.epochs, state, step_fn, diagnose, eval_step)


def fit(
    config: TrainConfig,
    workdir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    mesh: Mesh | None = None,
    stop_after_epoch: int | None = None,
) -> dict:
    """Trains as ``config`` says into the run directory ``workdir``
    (see :mod:`gradjax.training.rundir`), which records the resolved config
    (:meth:`TrainConfig.resolved`).

    Runs unchanged on one process or several (see :mod:`gradjax.training.distributed`): the
    mesh spans all global devices, each process gathers its rows of every batch, only process 0
    writes. ``stop_after_epoch=K`` trains the first ``K`` epochs of the ``config.run.epochs``-
    epoch schedule and stops, the run unfinished: a later ``resume`` continues it exactly (say,
    to compare runs early in one long schedule without paying for all of it).

    Returns:
      The last epoch record (test accuracy and CE, seconds); ``{}`` when none was written.

    Raises:
      NonFiniteLossError: a step's loss was NaN/inf (the last good checkpoint is kept).
      FileExistsError: ``workdir`` already has checkpoints and ``resume`` is false.
      FileNotFoundError: ``resume`` on a directory that is not a run.
      ValueError: ``resume`` with settings other than the run's (each named), or
        ``stop_after_epoch`` outside the schedule.
    """
    config = config.resolved()
    check_stop(stop_after_epoch, config.run.epochs)
    run = RunDir(workdir)
    changes = open_for_training(run, config, resume)
    if dataset is None:
        dataset = load_dataset(config.data.dataset, config.data.data_dir)
    mesh = data_mesh() if mesh is None else mesh
    compiled = compile_run(config, dataset, mesh)
    state = compiled.state
    restored, latest = run.restore_latest(place_state(state, mesh)) if resume else (None, None)
    state = state if restored is None else restored
    primary = is_primary()
    if primary:  # one writer: with several processes, only process 0 touches the files
        run.keep_metrics_until(latest)
        run.write_config(config)
        record_changes(run, latest, changes)
    barrier("run directory ready")
    compiled.state = place_state(state, mesh)
    records = run.epoch_records() if resume else []
    last_epoch = min(config.run.epochs, stop_after_epoch or config.run.epochs)
    with (
        run.checkpoints(config.run.keep_checkpoints) as manager,
        run.open_metrics() if primary else open(os.devnull, "w") as log,
        tqdm(
            total=compiled.total_steps,
            initial=int(compiled.state.step),
            disable=not (progress and primary),
            desc=config.objective.name,
            unit="step",
            dynamic_ncols=True,
        ) as bar,
    ):
        say = (bar.write if progress else print) if primary else lambda text: None
        loop = EpochLoop(config, dataset, mesh, compiled, manager, log, bar, say)
        record = records[-1] if records else {}
        for epoch in range(int(compiled.state.step) // compiled.steps, last_epoch):
            record = loop.epoch(epoch)
    return record


class EpochLoop:
    """One epoch at a time: the steps with their logging, guards and mid-epoch saves, then the
    test evaluation and the epoch checkpoint."""

    def __init__(self, config, dataset, mesh, compiled: Compiled, manager, log, bar, say):
        self.config, self.dataset, self.mesh, self.c = config, dataset, mesh, compiled
        self.manager, self.log, self.bar, self.say = manager, log, bar, say
        self.watch = LossWatch(say, config.optim.lr)
        self.last_save = time.monotonic()

    def save(self, step: int) -> None:
        self.manager.save(step, args=ocp.args.StandardSave(self.c.state))
        self.manager.wait_until_finished()
        self.last_save = time.monotonic()

    def logged(self, step: int, metrics: dict, batch) -> None:
        """Host-side metrics at a log or save step: diagnostics, the guards, the log line."""
        run = self.config.run
        if self.c.diagnose is not None:
            key = jax.random.fold_in(jax.random.key(run.seed), step)
            extra = self.c.diagnose(self.c.state.params, batch, key)[1]
            metrics = {**{k: v for k, v in extra.items() if k not in metrics}, **metrics}
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        if not all(math.isfinite(v) for v in metrics.values()):
            raise NonFiniteLossError(describe_nonfinite(step, metrics, self.config))
        self.watch(step, metrics["loss"])
        self.bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}")
        if step % run.log_every == 0:
            self.log.write(json.dumps({"kind": "train", "step": step, **metrics}) + "\n")
            self.log.flush()

    def epoch(self, epoch: int) -> dict:
        config, c = self.config, self.c
        started = time.perf_counter()
        # Read once an epoch, then counted on the host: reading ``state.step`` after a step
        # would wait for it to finish and leave an accelerator idle while the next batch is
        # gathered.
        step = int(c.state.step)
        batches = train_batches(
            c.train_x,
            c.train_y,
            config.data.batch_size,
            seed=config.run.seed,
            epoch=epoch,
            start=step - epoch * c.steps,
            rows=process_rows(config.data.batch_size),
        )
        for batch in batches:
            batch = shard_batch(batch, self.mesh)
            c.state, metrics = c.step_fn(c.state, batch)
            step += 1
            self.bar.update(1)
            log_now = step % config.run.log_every == 0 or step % c.steps == 0
            save_now = time.monotonic() - self.last_save > 60 * config.run.checkpoint_minutes
            if not (log_now or save_now):
                continue  # metrics stay on the device: no host sync between log steps
            self.logged(step, metrics, batch)
            if save_now and step % c.steps:
                self.save(step)
        return self.finish_epoch(epoch, step, started)

    def finish_epoch(self, epoch: int, step: int, started: float) -> dict:
        c, data = self.c, self.dataset
        test = score_split(
            c.eval_step,
            c.state.params,
            data.test_images,
            data.test_labels,
            self.config.run.eval_batch_size,
        )
        record = {
            "kind": "epoch",
            "step": step,
            "epoch": epoch + 1,
            "test_accuracy": test.accuracy,
            "test_ce": test.mean_ce,
            "epoch_seconds": time.perf_counter() - started,
        }
        self.save(step)
        # Mid-epoch saves are only for resuming: the epoch checkpoint supersedes them.
        for old in self.manager.all_steps():
            if old < step and old % c.steps:
                self.manager.delete(old)
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        self.say(
            f"epoch {epoch + 1}/{self.config.run.epochs}: test accuracy {test.accuracy:.4f}, "
            f"test CE {test.mean_ce:.4f}"
        )
        return record


__all__ = [
    "Compiled",
    "EpochLoop",
    "NonFiniteLossError",
    "compile_run",
    "create_state",
    "fit",
    "objective_of",
    "optimizer_of",
]
