"""Several processes, one mesh: the ``jax.distributed`` set-up and the helpers that turn what
each process holds into global arrays.

Every process runs the same program. The mesh spans all global devices; each process loads and
shuffles the data with the same seed and gathers only its rows of every global batch
(:func:`process_rows`), which :func:`global_array` assembles into one array sharded over the
mesh; parameters are replicated. Only the primary process (index 0) writes logs and metrics;
orbax writes and restores checkpoints collectively.

The launcher (:mod:`gradjax.cli.launch`) passes the coordinator, process count and process index in
:data:`ENV`; on SLURM or a TPU pod, ``--distributed auto`` lets ``jax.distributed.initialize()``
detect them.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Sharding

ENV = {
    "coordinator": "GRADJAX_COORDINATOR",
    "num_processes": "GRADJAX_NUM_PROCESSES",
    "process_id": "GRADJAX_PROCESS_ID",
}


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    auto: bool = False,
) -> bool:
    """Starts the multi-process runtime; returns whether it did.

    Arguments left ``None`` are read from :data:`ENV`. With ``auto``, ``jax.distributed`` detects
    the cluster (SLURM, TPU pods). Nothing happens without a coordinator and without ``auto``.
    Must run before any other JAX computation. CPU collectives use gloo, so processes on one
    machine (or CPU hosts) can form a mesh.
    """
    coordinator = coordinator or os.environ.get(ENV["coordinator"])
    if coordinator is None and not auto:
        return False
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if coordinator is None:
        jax.distributed.initialize()
        return True
    num_processes = num_processes or int(os.environ[ENV["num_processes"]])
    if process_id is None:
        process_id = int(os.environ[ENV["process_id"]])
    jax.distributed.initialize(coordinator, num_processes, process_id)
    return True


def launched_processes() -> int:
    """How many processes the environment says this program runs as (1 when not launched by
    :mod:`gradjax.cli.launch`, SLURM or a TPU pod)."""
    for variable in (ENV["num_processes"], "SLURM_NTASKS", "TPU_WORKER_HOSTNAMES"):
        value = os.environ.get(variable)
        if value:
            return len(value.split(",")) if variable == "TPU_WORKER_HOSTNAMES" else int(value)
    return jax.process_count() if jax.distributed.is_initialized() else 1


def is_primary() -> bool:
    """Whether this process writes logs, metrics and reports (process 0)."""
    return jax.process_index() == 0


def process_rows(batch_size: int) -> slice:
    """The rows of a global batch that this process loads."""
    count, index = jax.process_count(), jax.process_index()
    if batch_size % count:
        raise ValueError(f"batch size {batch_size} is not divisible by the {count} processes.")
    per = batch_size // count
    return slice(index * per, (index + 1) * per)


def global_array(tree, sharding: Sharding):
    """Places host data on ``sharding``: with one process a plain ``device_put``; with several,
    each process passes its local part (its rows for a batch sharding, the whole value for a
    replicated one) and gets the global array."""
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree.map(
        lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree
    )


def barrier(name: str) -> None:
    """Waits until every process reaches ``name`` (no-op with one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


__all__ = [
    "ENV",
    "barrier",
    "global_array",
    "initialize",
    "is_primary",
    "launched_processes",
    "process_rows",
]
