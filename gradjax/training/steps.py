"""The compiled, data-parallel train step.

``make_train_step(loss_fn, seed)`` wraps any objective ``(params, batch, key) -> (loss,
metrics)`` into a pure ``train_step(state, batch) -> (state, metrics)``;
:func:`compile_train_step` jits it over a ``("data",)`` mesh (batch sharded, parameters
replicated, state donated). Per-step randomness is ``fold_in(key(seed), step)`` inside the step,
so a resumed run draws the same noise as an uninterrupted one, independently of the number of
devices.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
from flax.training.train_state import TrainState
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gradjax.training.distributed import global_array

Augment = Callable[[jax.Array, jax.Array], jax.Array]  # (x, key) -> x


def make_train_step(loss_fn: Callable, seed: int, *, augment: Augment | None = None) -> Callable:
    """``train_step(state, batch) -> (state, metrics)``: one optimiser update, pure.

    Args:
      loss_fn: ``(params, (x, y), key) -> (loss, metrics)``.
      seed: the run's seed; the step's key is ``fold_in(key(seed), state.step)``.
      augment: ``(x, key) -> x`` applied to the batch first (e.g.
        :func:`gradjax.training.augment.crop_flip`), with the key ``fold_in(step key, 1)``.
    """

    def train_step(state: TrainState, batch):
        key = jax.random.fold_in(jax.random.key(seed), state.step)
        x, y = batch
        if augment is not None:
            x = augment(x, jax.random.fold_in(key, 1))
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (_, metrics), grads = grad_fn(state.params, (x, y), key)
        return state.apply_gradients(grads=grads), metrics

    return train_step


def data_mesh(devices=None) -> Mesh:
    """A one-axis ``("data",)`` mesh over ``devices`` (default: all devices of all processes;
    with one process, the local ones)."""
    devices = jax.devices() if devices is None else devices
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


def place_state(state: TrainState, mesh: Mesh) -> TrainState:
    """The state as the compiled step returns it: ``step`` an int32 array (``TrainState.create``
    leaves a Python int, which would trace the step a second time) and every leaf replicated
    on ``mesh``."""
    state = state.replace(step=np.asarray(state.step, np.int32))
    return global_array(state, NamedSharding(mesh, P()))


def shard_batch(batch, mesh: Mesh):
    """Places a host batch on ``mesh``, split along the first axis. With several processes,
    ``batch`` is this process's rows of the global batch (``distributed.process_rows``)."""
    size = mesh.devices.size
    rows = batch[0].shape[0] * jax.process_count()
    if rows % size:
        raise ValueError(f"batch size {rows} is not divisible by the {size} devices of the mesh.")
    return global_array(batch, NamedSharding(mesh, P("data")))


__all__ = [
    "Augment",
    "compile_train_step",
    "data_mesh",
    "make_train_step",
    "place_state",
    "shard_batch",
]
