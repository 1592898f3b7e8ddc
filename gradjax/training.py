"""Training library: optimiser, compiled data-parallel train step, fit loop with checkpoints.

``make_train_step(loss_fn, seed)`` wraps any objective ``(params, batch, key) -> (loss,
metrics)`` into a pure step; :func:`compile_train_step` jits it over a ``("data",)`` mesh of all
local devices (batch sharded, parameters replicated, state donated); :func:`fit` runs epochs with
orbax checkpoints, a metrics JSONL, exact mid-epoch resume and a non-finite-loss guard.

Per-step randomness is ``fold_in(key(seed), step)`` inside the step, so a resumed run draws the
same noise as an uninterrupted one, and the noise does not depend on the number of devices.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax.training.train_state import TrainState
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from gradjax.checks import check_choice
from gradjax.config import TrainConfig
from gradjax.data import Dataset, eval_batches, load_dataset, steps_per_epoch, train_batches
from gradjax.models import model_from_config
from gradjax.objectives import make_objective

SCHEDULES = ("cosine", "step", "constant")


class NonFiniteLossError(RuntimeError):
    """Raised when a training step produces a NaN or infinite loss."""


def make_optimizer(config, total_steps: int, steps_in_epoch: int) -> optax.GradientTransformation:
    """SGD with momentum, L2 weight decay added to the gradient, a schedule, optional clipping.

    Args:
      config: an :class:`~gradjax.config.OptimConfig`.
      total_steps: length of the run, for the schedule.
      steps_in_epoch: steps per epoch, to convert ``warmup_epochs``.
    """
    check_choice(config.schedule, "schedule", SCHEDULES)
    warmup = int(config.warmup_epochs * steps_in_epoch)
    decay_steps = max(1, total_steps - warmup)
    if config.schedule == "cosine":
        main = optax.cosine_decay_schedule(config.lr, decay_steps)
    elif config.schedule == "step":
        # ×0.1 at 50% and 75% of training.
        main = optax.piecewise_constant_schedule(
            config.lr, {int(decay_steps * 0.5): 0.1, int(decay_steps * 0.75): 0.1}
        )
    else:
        main = optax.constant_schedule(config.lr)
    schedule = (
        optax.join_schedules([optax.linear_schedule(0.0, config.lr, warmup), main], [warmup])
        if warmup
        else main
    )
    parts = [] if config.grad_clip is None else [optax.clip_by_global_norm(config.grad_clip)]
    parts += [
        optax.add_decayed_weights(config.weight_decay),
        optax.sgd(schedule, momentum=config.momentum, nesterov=config.nesterov),
    ]
    return optax.chain(*parts)


def make_train_step(loss_fn: Callable, seed: int) -> Callable:
    """``train_step(state, batch) -> (state, metrics)``: one optimiser update, pure.

    The step's key is ``fold_in(key(seed), state.step)``.
    """

    def train_step(state: TrainState, batch):
        key = jax.random.fold_in(jax.random.key(seed), state.step)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (_, metrics), grads = grad_fn(state.params, batch, key)
        return state.apply_gradients(grads=grads), metrics

    return train_step


def data_mesh(devices=None) -> Mesh:
    """A one-axis ``("data",)`` mesh over ``devices`` (default: all local devices)."""
    devices = jax.local_devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("data",))


def compile_train_step(train_step: Callable, mesh: Mesh) -> Callable:
    """Jits ``train_step`` data-parallel over ``mesh``: the batch is split along its first axis,
    the state replicated (XLA inserts the gradient all-reduce), the input state donated."""
    replicated = NamedSharding(mesh, P())
    return jax.jit(
        train_step,
        in_shardings=(replicated, NamedSharding(mesh, P("data"))),
        out_shardings=(replicated, replicated),
        donate_argnums=(0,),
    )


def shard_batch(batch, mesh: Mesh):
    """Places a host batch on ``mesh``, split along the first axis."""
    size = mesh.devices.size
    if batch[0].shape[0] % size:
        raise ValueError(
            f"batch size {batch[0].shape[0]} is not divisible by the {size} devices of the mesh."
        )
    return jax.device_put(batch, NamedSharding(mesh, P("data")))


def make_eval_step(apply_fn: Callable) -> Callable:
    """Jitted ``(params, x, y, num_valid) -> (correct, summed CE)`` over the valid rows."""

    @jax.jit
    def eval_step(params, x, y, num_valid):
        logits = apply_fn(params, x)
        valid = jnp.arange(x.shape[0]) < num_valid
        correct = jnp.sum((jnp.argmax(logits, -1) == y) & valid)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        return correct, jnp.sum(jnp.where(valid, ce, 0.0))

    return eval_step


def evaluate(eval_step: Callable, params, images, labels, batch_size: int) -> dict[str, float]:
    """Accuracy and mean cross-entropy over a whole split."""
    correct, ce_sum = 0, 0.0
    for x, y, valid in eval_batches(images, labels, batch_size):
        c, ce = eval_step(params, x, y, valid)
        correct += int(c)
        ce_sum += float(ce)
    return {"accuracy": correct / len(images), "ce": ce_sum / len(images)}


def _subset(dataset: Dataset, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    if size is None or size >= len(dataset.train_images):
        return dataset.train_images, dataset.train_labels
    chosen = np.random.default_rng(1234).permutation(len(dataset.train_images))[:size]
    return dataset.train_images[chosen], dataset.train_labels[chosen]


def create_state(config: TrainConfig, dataset: Dataset, total_steps: int, steps: int):
    """A freshly initialised :class:`TrainState` of the configured model and optimiser."""
    model = model_from_config(config.model, dataset.num_classes)
    dummy = jnp.zeros((1, *dataset.image_shape), jnp.float32)
    params = model.init(jax.random.key(config.run.seed), dummy)
    tx = make_optimizer(config.optim, total_steps, steps)
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


def _describe_nonfinite(step: int, metrics: dict[str, float], config: TrainConfig) -> str:
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    values = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
    advice = (
        f"The curvature terms h / h_sq exploded: increase mu (now {config.objective.mu}) "
        f"or lower lam (now {config.objective.resolved_lam}) or the learning rate."
        if {"h", "h_sq"} & set(bad)
        else f"Lower the learning rate (now {config.optim.lr}) or lam "
        f"(now {config.objective.resolved_lam}), or set grad_clip."
    )
    return f"non-finite loss at step {step}: {', '.join(bad)} not finite ({values}). {advice}"


def checkpoint_manager(workdir: Path, keep: int) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(workdir.resolve() / "checkpoints", options=options)


def restore_params(workdir: str | Path, step: int | None = None):
    """Loads ``(config, params)`` of a finished or running run directory (latest step)."""
    workdir = Path(workdir)
    config = TrainConfig.from_json(workdir / "config.json")
    with checkpoint_manager(workdir, config.run.keep_checkpoints) as manager:
        step = manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {str(workdir / 'checkpoints')!r}.")
        restored = manager.restore(step, args=ocp.args.StandardRestore())
    return config, restored["params"]


def read_metrics(workdir: str | Path) -> list[dict]:
    """The records of a run's ``metrics.jsonl`` (empty if none yet)."""
    path = Path(workdir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def is_finished(workdir: str | Path) -> bool:
    """Whether ``workdir`` holds a run whose final epoch was checkpointed."""
    workdir = Path(workdir)
    if not (workdir / "config.json").exists():
        return False
    config = TrainConfig.from_json(workdir / "config.json")
    with checkpoint_manager(workdir, config.run.keep_checkpoints) as manager:
        latest = manager.latest_step()
    return latest is not None and any(
        r["kind"] == "epoch" and r["epoch"] == config.run.epochs and r["step"] == latest
        for r in read_metrics(workdir)
    )


def _truncate_jsonl(path: Path, last_step: int) -> None:
    """Drops records after ``last_step`` (written by a run that died after its checkpoint)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if json.loads(line)["step"] <= last_step]
    path.write_text("".join(line + "\n" for line in kept))


def fit(
    config: TrainConfig,
    workdir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    dataset: Dataset | None = None,
    mesh: Mesh | None = None,
) -> dict:
    """Trains as ``config`` says, writing to ``workdir``:

    * ``config.json``: the configuration (the run directory describes itself);
    * ``checkpoints/<step>``: orbax checkpoints at each epoch end (the last is the final state);
    * ``metrics.jsonl``: one JSON record per ``log_every`` steps (``kind: "train"``) and per
      epoch (``kind: "epoch"``, with test accuracy).

    With ``resume``, training continues from the latest checkpoint; batches, augmentation and
    noise depend only on ``(seed, epoch, step)``, so the result equals an uninterrupted run's.

    Returns:
      The last epoch record.

    Raises:
      NonFiniteLossError: a step's loss was NaN/inf (the last good checkpoint is kept).
      FileExistsError: ``workdir`` already has checkpoints and ``resume`` is false.
    """
    workdir = Path(workdir)
    dataset = (
        load_dataset(config.data.dataset, config.data.data_dir) if dataset is None else dataset
    )
    train_x, train_y = _subset(dataset, config.data.train_subset)
    batch_size = config.data.batch_size
    steps = steps_per_epoch(len(train_x), batch_size)
    total_steps = steps * config.run.epochs
    augment = config.data.augment
    if augment is None:
        augment = dataset.image_shape == (32, 32, 3)
    mesh = data_mesh() if mesh is None else mesh

    state = create_state(config, dataset, total_steps, steps)
    loss_fn = make_objective(state.apply_fn, config.objective)
    step_fn = compile_train_step(make_train_step(loss_fn, config.run.seed), mesh)
    eval_step = make_eval_step(state.apply_fn)
    metrics_path = workdir / "metrics.jsonl"

    workdir.mkdir(parents=True, exist_ok=True)
    manager = checkpoint_manager(workdir, config.run.keep_checkpoints)
    latest = manager.latest_step()
    if latest is not None and not resume:
        manager.close()
        raise FileExistsError(
            f"{str(workdir)!r} already has checkpoints (latest step {latest}); pass --resume to "
            "continue that run or choose a new --workdir."
        )
    if latest is not None:
        state = manager.restore(latest, args=ocp.args.StandardRestore(state))
        _truncate_jsonl(metrics_path, latest)
    elif metrics_path.exists():
        metrics_path.unlink()
    config.to_json(workdir / "config.json")
    state = jax.device_put(state, NamedSharding(mesh, P()))

    record = {}
    start_step = int(state.step)
    with (
        open(metrics_path, "a") as log,
        tqdm(
            total=total_steps,
            initial=start_step,
            disable=not progress,
            desc=config.objective.name,
            unit="step",
            dynamic_ncols=True,
        ) as bar,
    ):
        for epoch in range(start_step // steps, config.run.epochs):
            started = time.perf_counter()
            batches = train_batches(
                train_x,
                train_y,
                batch_size,
                seed=config.run.seed,
                epoch=epoch,
                start=int(state.step) - epoch * steps,
                augment=augment,
            )
            for batch in batches:
                state, metrics = step_fn(state, shard_batch(batch, mesh))
                metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
                step = int(state.step)
                if not math.isfinite(metrics["loss"]):
                    manager.close()
                    raise NonFiniteLossError(_describe_nonfinite(step, metrics, config))
                bar.update(1)
                bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['accuracy']:.3f}")
                if step % config.run.log_every == 0:
                    log.write(json.dumps({"kind": "train", "step": step, **metrics}) + "\n")
                    log.flush()
            test = evaluate(
                eval_step,
                state.params,
                dataset.test_images,
                dataset.test_labels,
                config.run.eval_batch_size,
            )
            record = {
                "kind": "epoch",
                "step": int(state.step),
                "epoch": epoch + 1,
                "test_accuracy": test["accuracy"],
                "test_ce": test["ce"],
                "epoch_seconds": time.perf_counter() - started,
            }
            log.write(json.dumps(record) + "\n")
            log.flush()
            bar.write(
                f"epoch {epoch + 1}/{config.run.epochs}: test accuracy {test['accuracy']:.4f}, "
                f"test CE {test['ce']:.4f}"
            )
            manager.save(int(state.step), args=ocp.args.StandardSave(state))
            manager.wait_until_finished()
    manager.close()
    return record


__all__ = [
    "NonFiniteLossError",
    "compile_train_step",
    "create_state",
    "data_mesh",
    "evaluate",
    "fit",
    "is_finished",
    "make_eval_step",
    "make_optimizer",
    "make_train_step",
    "read_metrics",
    "restore_params",
    "shard_batch",
]
