"""The training loop: builds the model, optimiser and objective from a :class:`TrainConfig`
(the one place besides the command lines that unpacks configs), and runs epochs with orbax
checkpoints, a metrics log, exact mid-epoch resume, a non-finite-loss guard and a warning when
the loss climbs far above where it started.

Checkpoints are written at every epoch end and, for long runs, after every
``run.checkpoint_minutes`` of training; batches, augmentation and noise depend only on
``(seed, step)``, so a run killed anywhere and resumed ends where an uninterrupted one does.
"""

from __future__ import annotations

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

from gradjax.accuracy import make_eval_step, score_split
from gradjax.augment import crop_flip
from gradjax.config import DATASET_DEFAULTS, TrainConfig
from gradjax.data import Dataset, load_dataset, steps_per_epoch, subset, train_batches
from gradjax.distributed import barrier, is_primary, process_rows
from gradjax.estimators import make_trace_fn
from gradjax.models import make_model
from gradjax.objectives import make_objective
from gradjax.optim import make_optimizer
from gradjax.rundir import RunDir
from gradjax.steps import (
    compile_train_step,
    data_mesh,
    make_train_step,
    place_state,
    shard_batch,
)


class NonFiniteLossError(RuntimeError):
    """Raised when a training step produces a NaN or infinite loss."""


def model_of(config: TrainConfig, num_classes: int):
    """The flax module a run's config describes."""
    m = config.model
    return make_model(
        m.name, num_classes, width=m.width, activation=m.activation, beta=m.beta, norm=m.norm
    )


def objective_of(config: TrainConfig, apply_fn, *, diagnostics: bool = False):
    """``loss_fn(params, batch, key)`` of a run's objective section."""
    o = config.objective
    trace_fn = make_trace_fn(o.estimator, sigma=o.sigma, num_samples=o.num_samples)
    return make_objective(
        apply_fn, o.name, lam=o.lam, mu=o.mu, tau=o.tau, trace_fn=trace_fn, diagnostics=diagnostics
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


def augments(config: TrainConfig) -> bool:
    augment = config.data.augment
    return DATASET_DEFAULTS[config.data.dataset].augment if augment is None else augment


def _describe_nonfinite(step: int, metrics: dict[str, float], config: TrainConfig) -> str:
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    values = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
    o = config.objective
    advice = (
        f"The curvature terms h / h_sq exploded: increase mu (now {o.mu}) or lower lam (now "
        f"{o.resolved_lam}) or the learning rate."
        if {"h", "h_sq"} & set(bad)
        else f"Lower the learning rate (now {config.optim.lr}) or lam (now {o.resolved_lam}), "
        "or set grad_clip."
    )
    return f"non-finite loss at step {step}: {', '.join(bad)} not finite ({values}). {advice}"


class LossWatch:
    """Warns once when the mean logged loss of the last ``window`` records exceeds twice, and
    by more than 1 nat, the mean of the first ``window``: a learning rate too high for the
    model diverges slowly, long before the NaN guard sees an inf."""

    def __init__(self, write, lr: float, window: int = 5):
        self.write, self.lr, self.window = write, lr, window
        self.losses: list[float] = []
        self.warned = False

    def __call__(self, step: int, loss: float) -> None:
        self.losses.append(loss)
        if self.warned or len(self.losses) < 2 * self.window:
            return
        start = sum(self.losses[: self.window]) / self.window
        now = sum(self.losses[-self.window :]) / self.window
        if now > 2 * start and now > start + 1.0:
            self.warned = True
            self.write(
                f"warning: training loss climbed from {start:.3g} to {now:.3g} by step {step}; "
                f"the learning rate ({self.lr:g}) may be too high for this model and data."
            )


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
    """Trains as ``config`` says into the run directory ``workdir`` (see :mod:`gradjax.rundir`).

    Runs unchanged on one process or several (see :mod:`gradjax.distributed`): the mesh spans
    all global devices, each process gathers its rows of every batch, only process 0 writes.
    ``stop_after_epoch=K`` trains the first ``K`` epochs of the ``config.run.epochs``-epoch
    schedule and stops, the run unfinished: a later ``resume`` continues it exactly (say, to
    compare runs early in one long schedule without paying for all of it).

    Returns:
      The last epoch record (test accuracy and CE, seconds); ``{}`` when none was written.

    Raises:
      NonFiniteLossError: a step's loss was NaN/inf (the last good checkpoint is kept).
      FileExistsError: ``workdir`` already has checkpoints and ``resume`` is false.
    """
    if stop_after_epoch is not None and stop_after_epoch < 1:
        raise ValueError(f"stop_after_epoch must be >= 1, got {stop_after_epoch}.")
    run = RunDir(workdir)
    if dataset is None:
        dataset = load_dataset(config.data.dataset, config.data.data_dir)
    train_x, train_y = subset(dataset.train_images, dataset.train_labels, config.data.train_subset)
    steps = steps_per_epoch(len(train_x), config.data.batch_size)
    total_steps = steps * config.run.epochs
    mesh = data_mesh() if mesh is None else mesh

    state = create_state(config, dataset, total_steps, steps)
    step_fn = compile_train_step(
        make_train_step(
            objective_of(config, state.apply_fn),
            config.run.seed,
            augment=crop_flip if augments(config) else None,
        ),
        mesh,
    )
    diagnose = (
        jax.jit(objective_of(config, state.apply_fn, diagnostics=True))
        if config.objective.diagnostics
        else None
    )
    eval_step = make_eval_step(state.apply_fn)

    if run.steps() and not resume:
        raise FileExistsError(
            f"{str(run.path)!r} already has checkpoints (latest step {run.steps()[-1]}); pass "
            "--resume to continue that run or choose a new --workdir."
        )
    restored, latest = run.restore_latest(place_state(state, mesh)) if resume else (None, None)
    state = state if restored is None else restored
    primary = is_primary()
    if primary:  # one writer: with several processes, only process 0 touches the files
        run.keep_metrics_until(latest)
        run.write_config(config)
    barrier("run directory ready")
    state = place_state(state, mesh)

    records = run.epoch_records() if resume else []
    record = records[-1] if records else {}
    start_step = int(state.step)
    last_epoch = min(config.run.epochs, stop_after_epoch or config.run.epochs)
    keep = config.run.keep_checkpoints
    with (
        run.checkpoints(keep) as manager,
        run.open_metrics() if primary else open(os.devnull, "w") as log,
        tqdm(
            total=total_steps,
            initial=start_step,
            disable=not (progress and primary),
            desc=config.objective.name,
            unit="step",
            dynamic_ncols=True,
        ) as bar,
    ):
        say = (bar.write if progress else print) if primary else lambda text: None
        watch = LossWatch(say, config.optim.lr)
        last_save = time.monotonic()

        def save(step: int) -> None:
            manager.save(step, args=ocp.args.StandardSave(state))
            manager.wait_until_finished()

        for epoch in range(start_step // steps, last_epoch):
            started = time.perf_counter()
            # Read once an epoch, then counted on the host: reading ``state.step`` after a step
            # would wait for it to finish and leave an accelerator idle while the next batch
            # is gathered.
            step = int(state.step)
            batches = train_batches(
                train_x,
                train_y,
                config.data.batch_size,
                seed=config.run.seed,
                epoch=epoch,
                start=step - epoch * steps,
                rows=process_rows(config.data.batch_size),
            )
            for batch in batches:
                batch = shard_batch(batch, mesh)
                state, metrics = step_fn(state, batch)
                step += 1
                bar.update(1)
                log_now = step % config.run.log_every == 0 or step % steps == 0
                save_now = time.monotonic() - last_save > 60 * config.run.checkpoint_minutes
                if not (log_now or save_now):
                    continue  # metrics stay on the device: no host sync between log steps
                if diagnose is not None:
                    key = jax.random.fold_in(jax.random.key(config.run.seed), step)
                    extra = diagnose(state.params, batch, key)[1]
                    metrics = {**{k: v for k, v in extra.items() if k not in metrics}, **metrics}
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                if not all(math.isfinite(v) for v in metrics.values()):
                    raise NonFiniteLossError(_describe_nonfinite(step, metrics, config))
                watch(step, metrics["loss"])
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}")
                if step % config.run.log_every == 0:
                    log.write(json.dumps({"kind": "train", "step": step, **metrics}) + "\n")
                    log.flush()
                if save_now and step % steps:
                    save(step)
                    last_save = time.monotonic()
            test = score_split(
                eval_step,
                state.params,
                dataset.test_images,
                dataset.test_labels,
                config.run.eval_batch_size,
            )
            record = {
                "kind": "epoch",
                "step": step,
                "epoch": epoch + 1,
                "test_accuracy": test.accuracy,
                "test_ce": test.mean_ce,
                "epoch_seconds": time.perf_counter() - started,
            }
            save(step)
            last_save = time.monotonic()
            # Mid-epoch saves are only for resuming: the epoch checkpoint supersedes them.
            for old in manager.all_steps():
                if old < step and old % steps:
                    manager.delete(old)
            log.write(json.dumps(record) + "\n")
            log.flush()
            say(
                f"epoch {epoch + 1}/{config.run.epochs}: test accuracy {test.accuracy:.4f}, "
                f"test CE {test.mean_ce:.4f}"
            )
    return record


__all__ = [
    "LossWatch",
    "NonFiniteLossError",
    "augments",
    "create_state",
    "fit",
    "model_of",
    "objective_of",
    "optimizer_of",
]
