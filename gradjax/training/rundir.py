"""A run directory, the one place that reads and writes it:

    <run>/config.json     the TrainConfig (the directory describes itself)
    <run>/metrics.jsonl   one JSON record per log step ("train") and per epoch ("epoch")
    <run>/checkpoints/N   orbax checkpoints of the TrainState at step N

Training, evaluation and the reproduction pipeline all go through :class:`RunDir`;
``config.json`` is read once per object. A checkpoint that cannot be restored (a truncated or
damaged file) is reported by its path; when resuming, :meth:`RunDir.restore_latest` moves it
aside to ``checkpoints-damaged/`` with a warning and falls back to the previous one.
"""

from __future__ import annotations

import functools
import json
import shutil
import warnings
from pathlib import Path

import jax
import orbax.checkpoint as ocp

from gradjax.training.config import TrainConfig
from gradjax.training.distributed import barrier, is_primary


class CheckpointError(RuntimeError):
    """A checkpoint is missing or cannot be restored; the message names its path."""


class RunDir:
    """The run directory at ``path`` (which may not exist yet)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- config ---------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def is_run(self) -> bool:
        return self.config_path.exists()

    @functools.cached_property
    def config(self) -> TrainConfig:
        """The run's configuration, read from ``config.json`` once."""
        if not self.is_run():
            raise FileNotFoundError(
                f"{str(self.path)!r} is not a run directory (no config.json); pass a --workdir "
                "written by train.py."
            )
        return TrainConfig.from_json(self.config_path.read_text(), str(self.config_path))

    def write_config(self, config: TrainConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(config.to_json())
        self.__dict__["config"] = config

    # -- metrics --------------------------------------------------------------------------------
    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def metrics(self) -> list[dict]:
        """The records of ``metrics.jsonl`` (empty if none yet): its newline-terminated lines.

        A last line without its newline is not a record yet: the training process may be
        writing it while this reads (``--status``, a watcher), or a kill cut it short (the
        resumed run writes it again)."""
        if not self.metrics_path.exists():
            return []
        text = self.metrics_path.read_text()
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line]

    def keep_metrics_until(self, last_step: int | None) -> None:
        """Drops records after ``last_step`` (all of them for ``None``): what a run that died
        after its last checkpoint wrote is written again when it resumes."""
        if not self.metrics_path.exists():
            return
        kept = [] if last_step is None else [r for r in self.metrics() if r["step"] <= last_step]
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def open_metrics(self):
        """An append handle on ``metrics.jsonl``; write one ``json.dumps(record)`` per line."""
        self.path.mkdir(parents=True, exist_ok=True)
        return open(self.metrics_path, "a")

    def epoch_records(self) -> list[dict]:
        return [r for r in self.metrics() if r["kind"] == "epoch"]

    # -- checkpoints ----------------------------------------------------------------------------
    def checkpoints(self, keep: int | None = None) -> ocp.CheckpointManager:
        """An orbax manager over ``checkpoints/`` keeping the ``keep`` latest (``None``: all).
        Use it as a context manager."""
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        return ocp.CheckpointManager(
            self.path.resolve() / "checkpoints",
            options=options,
            item_handlers=ocp.StandardCheckpointHandler(),
        )

    def steps(self) -> list[int]:
        """Steps of all checkpoints, ascending."""
        if not (self.path / "checkpoints").exists():
            return []
        with self.checkpoints() as manager:
            return sorted(manager.all_steps())

    def epoch_checkpoints(self) -> dict[int, int]:
        """``{epoch: step}`` of the checkpoints that end an epoch (1-based epochs, ascending;
        mid-epoch saves and epochs whose checkpoint is no longer kept left out)."""
        saved = set(self.steps())
        return {r["epoch"]: r["step"] for r in self.epoch_records() if r["step"] in saved}

    def epoch_steps(self) -> list[int]:
        """Checkpointed steps that end an epoch, ascending."""
        return list(self.epoch_checkpoints().values())

    def epoch_step(self, epoch: int) -> int:
        """The checkpointed step that ends ``epoch`` (1-based).

        Raises:
          ValueError: no checkpoint of that epoch is kept (the kept epochs named).
        """
        kept = self.epoch_checkpoints()
        if epoch not in kept:
            listing = ", ".join(map(str, kept)) or "none"
            raise ValueError(
                f"{str(self.path)!r} keeps no checkpoint of epoch {epoch} (kept epochs: "
                f"{listing}); train with --keep-checkpoints 0 to keep every epoch's."
            )
        return kept[epoch]

    def _restore(self, manager, step: int, target=None):
        try:
            if target is None:
                # Onto this process's first device, whatever topology (devices, processes)
                # wrote the checkpoint: without a target orbax refuses other topologies.
                device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
                target = jax.tree.map(
                    lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                    manager.item_metadata(step),
                )
            return manager.restore(step, args=ocp.args.StandardRestore(target))
        except Exception as err:  # orbax/tensorstore raise many types for damaged files
            raise CheckpointError(
                f"checkpoint {str(self.path / 'checkpoints' / str(step))!r} cannot be restored "
                f"({type(err).__name__}: {str(err).splitlines()[0][:300]}); it is damaged or "
                "incomplete."
            ) from err

    def restore_latest(self, target):
        """Restores the latest checkpoint into the structure of ``target`` (a TrainState).

        A damaged checkpoint is moved to ``checkpoints-damaged/`` with a warning and the
        previous one is tried. Returns ``(state, step)``, or ``(None, None)`` if there is no
        usable checkpoint.
        """
        while True:
            with self.checkpoints() as manager:
                step = manager.latest_step()
                if step is None:
                    return None, None
                try:
                    return self._restore(manager, step, target), step
                except CheckpointError as err:
                    message = str(err)
            aside = self.path / "checkpoints-damaged" / str(step)
            if is_primary():
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(self.path / "checkpoints" / str(step)), aside)
            barrier(f"moved damaged checkpoint {step}")
            warnings.warn(
                f"{message} Moved it to {str(aside)!r}; resuming from the previous checkpoint.",
                RuntimeWarning,
                stacklevel=2,
            )

    def restore_params(self, step: int | None = None):
        """The parameters saved at ``step`` (default: the latest checkpoint).

        Raises:
          CheckpointError: no checkpoint, or the checkpoint cannot be restored (its path named).
        """
        with self.checkpoints() as manager:
            step = manager.latest_step() if step is None else step
            if step is None:
                raise CheckpointError(f"no checkpoint in {str(self.path / 'checkpoints')!r}.")
            return self._restore(manager, step)["params"]

    def is_finished(self) -> bool:
        """Whether the run's final epoch was checkpointed."""
        if not self.is_run():
            return False
        steps = self.steps()
        epochs = self.config.run.epochs
        return bool(steps) and any(
            r["epoch"] == epochs and r["step"] == steps[-1] for r in self.epoch_records()
        )


__all__ = ["CheckpointError", "RunDir"]
