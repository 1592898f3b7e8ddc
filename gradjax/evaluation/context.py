"""What every measurement receives: the trained runs, the data, shared settings and the results
of the measurements it declared it needs; and what every measurement returns (:class:`Result`).

A measurement is ``measure(ctx: EvalContext, settings) -> Result`` (see
:mod:`gradjax.evaluation.measurements`). Runs are loaded once, through :class:`RunDir`, and all
models are measured on the same test images with the same noise, so differences between them
are paired. Long measurements keep their finished pieces with :meth:`EvalContext.memo`, so an
interrupted evaluation resumes (:mod:`gradjax.evaluation.cache`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp

import gradjax.models
import gradjax.training.data
from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.code_digest import code_digest, library_versions, params_digest
from gradjax.training.batches import draw_examples, slices
from gradjax.training.config import model_of
from gradjax.training.data import Dataset, load_dataset
from gradjax.training.rundir import RunDir


@dataclasses.dataclass(frozen=True)
class Common:
    """Settings shared by the measurements (ours; the paper does not fix them)."""

    seed: int = 0
    # Test images for the per-image measurements (density, perturbation, fooling); None: all.
    num_examples: int | None = None
    batch_size: int = 250
    # Figures that show dataset images (denoised samples, maps beside inputs). Off for data that
    # must not be redistributed (CIFAR): the numbers are still measured.
    dataset_figures: bool = True
    # Per-image values (per_image.json): off, like the figures, for data not ours to publish.
    keep_per_image: bool = True


@dataclasses.dataclass
class Run:
    """A trained model: its name, run directory, config, parameters and ``apply_fn``;
    ``epoch``: the epoch whose checkpoint ``params`` are (``None``: the latest checkpoint)."""

    name: str
    rundir: RunDir
    params: dict
    apply_fn: Callable
    epoch: int | None = None

    @property
    def config(self):
        return self.rundir.config

    def logits_fn(self, params=None) -> Callable[[jax.Array], jax.Array]:
        """``x -> (B, C)`` logits with ``params`` (default: the trained ones)."""
        return functools.partial(self.apply_fn, self.params if params is None else params)

    @functools.cached_property
    def epoch_checkpoints(self) -> dict[int, int]:
        """``{epoch: step}`` of the checkpoints ending an epoch, up to ``epoch`` (all of them
        for ``None``), ascending."""
        kept = self.rundir.epoch_checkpoints()
        if self.epoch is None:
            return kept
        last = self.rundir.epoch_step(self.epoch)
        return {e: s for e, s in kept.items() if s <= last}

    @property
    def epoch_steps(self) -> list[int]:
        """The steps of :attr:`epoch_checkpoints`, ascending."""
        return list(self.epoch_checkpoints.values())

    @functools.cached_property
    def identity(self) -> tuple[str, str, list[int]]:
        """``(name, digest of the parameters, epoch steps checkpointed up to them)``: what a
        kept result was computed from (the steps for measurements that read every epoch)."""
        return self.name, params_digest(self.params), self.epoch_steps


@dataclasses.dataclass
class Result:
    """``metrics``: JSON-serialisable numbers; ``figures``: PNGs written; ``artifacts``: arrays
    for the measurements that need this one (not saved); ``per_image``: ``{"<run>/<quantity>":
    array over the test images}``, saved beside the metrics (``per_image.json``, unless
    :attr:`Common.keep_per_image` is off) so that statistics can be recomputed from them."""

    metrics: dict
    figures: list[Path] = dataclasses.field(default_factory=list)
    artifacts: dict = dataclasses.field(default_factory=dict)
    per_image: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class EvalContext:
    runs: list[Run]
    dataset: Dataset
    common: Common
    out: Path
    progress: bool = True
    judges: dict[str, Run] = dataclasses.field(default_factory=dict)
    results: dict[str, Result] = dataclasses.field(default_factory=dict)
    cache: EvalCache = dataclasses.field(default_factory=EvalCache)

    def memo(
        self,
        piece: str,
        compute: Callable[[], object],
        *,
        settings,
        runs: Sequence[Run],
        code: Sequence[Callable] = (),
    ):
        """``compute()``, or its value kept from an earlier, interrupted evaluation.

        The key is ``piece`` (a name unique within the measurement, e.g. ``"run/method"``),
        ``settings`` (a settings dataclass, or a dict of them), :class:`Common`, the dataset,
        the :attr:`Run.identity` of every model in ``runs`` that ``compute`` reads, the
        versions of the numerical libraries, and the :func:`code_digest` of the functions in
        ``code`` (default: ``compute`` alone) with :data:`PIECE_CODE`, what every piece reaches
        through objects.
        """
        if dataclasses.is_dataclass(settings):
            settings = dataclasses.asdict(settings)
        else:
            settings = {name: dataclasses.asdict(s) for name, s in settings.items()}
        key = {
            "piece": piece,
            "settings": settings,
            "common": dataclasses.asdict(self.common),
            "dataset": (self.dataset.name, len(self.dataset.test_images)),
            "models": [run.identity for run in runs],
            "libraries": library_versions(),
            "code": code_digest([*(code or [compute]), *PIECE_CODE]),
        }
        return self.cache.get_or_compute(key, compute)

    @functools.cached_property
    def test_examples(self) -> tuple[jax.Array, jax.Array]:
        """``common.num_examples`` test images drawn by the seed (all of them for ``None``):
        ``(x (N, H, W, C) float32 in [0, 1], y (N,) int32)``."""
        count = self.common.num_examples or len(self.dataset.test_images)
        x, y = draw_examples(
            self.dataset.test_images, self.dataset.test_labels, count, self.common.seed
        )
        return jnp.asarray(x), jnp.asarray(y)

    def batches(self, x, y, size: int | None = None):
        """``(x, y)`` slices of ``size`` (default ``common.batch_size``)."""
        return slices(x, y, size=size or self.common.batch_size)

    @property
    def key(self) -> jax.Array:
        return jax.random.key(self.common.seed)

    @property
    def reference(self) -> Run:
        """The fixed model of the paper's protocol (b): the first baseline run, else the first."""
        return next((r for r in self.runs if r.config.objective.name == "baseline"), self.runs[0])


def load_run(
    name: str,
    directory: RunDir | str | Path,
    dataset: Dataset | None = None,
    epoch: int | None = None,
) -> Run:
    """Restores the latest checkpoint of a run directory, or the one ending ``epoch``; checks
    it fits ``dataset``.

    Raises:
      FileNotFoundError: not a run directory. CheckpointError: no or a damaged checkpoint.
      ValueError: no checkpoint of ``epoch`` kept; its parameters do not fit ``dataset``'s
        image shape or classes.
    """
    rundir = directory if isinstance(directory, RunDir) else RunDir(directory)
    config = rundir.config
    if dataset is None:
        dataset = load_dataset(config.data.dataset, config.data.data_dir)
    model = model_of(config, dataset.num_classes)
    expected = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, *dataset.image_shape)))
    params = rundir.restore_params(None if epoch is None else rundir.epoch_step(epoch))
    same = jax.tree.structure(expected) == jax.tree.structure(params) and all(
        a.shape == b.shape
        for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(params), strict=True)
    )
    if not same:
        raise ValueError(
            f"run {name!r} ({str(rundir.path)!r}) does not fit the evaluation data "
            f"{dataset.name!r} ({'×'.join(map(str, dataset.image_shape))}, "
            f"{dataset.num_classes} classes): its parameters have other shapes."
        )
    return Run(name, rundir, params, model.apply, epoch)


def dataset_of(rundirs: dict[str, RunDir]) -> Dataset:
    """The one dataset all runs were trained on; a clear error when they differ."""
    sources = {name: (r.config.data.dataset, r.config.data.data_dir) for name, r in rundirs.items()}
    if len(set(sources.values())) > 1:
        listing = ", ".join(f"{n}: {d}" + (f" ({p})" if p else "") for n, (d, p) in sources.items())
        raise ValueError(f"the runs were trained on different datasets: {listing}.")
    return load_dataset(*next(iter(sources.values())))


# What pieces reach through objects, not by name, so every piece's code digest counts it: the
# context and its runs (test images, batches, keys, the reference model), the run directory
# (checkpoints), and whole, the models behind ``apply_fn`` and the data loading.
PIECE_CODE = (EvalContext, Run, RunDir, gradjax.models, gradjax.training.data)

__all__ = [
    "PIECE_CODE",
    "Common",
    "EvalContext",
    "Result",
    "Run",
    "dataset_of",
    "load_run",
]
