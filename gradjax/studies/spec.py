"""A study: the one unit of an experiment. Which runs it trains (a :class:`TrainConfig` each),
which evaluations of them it writes (its :class:`Stage`\\ s), which of the paper's claims it
bears on and what it costs; :mod:`gradjax.studies.runner` carries it out and
:mod:`gradjax.studies.registry` names every study.

A study writes ``results/<study>/<stage>/`` per stage (``metrics.json``, ``report.md``,
figures) and ``results/<study>/study.json`` (:mod:`gradjax.studies.provenance`). A stage is
done when its metrics exist and were made from the same spec (its digest), so a study longer
than one go is a sequence of goes, each committing the stages it finished: nothing depends on
a checkpoint or a cache surviving between them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import NamedTuple

from gradjax.evaluation.context import Common
from gradjax.paper import CLAIMS
from gradjax.training.config import TrainConfig


class At(NamedTuple):
    """A run evaluated under ``label`` at the checkpoint ending ``epoch`` (``None``: the stage's
    epoch, else the run's last)."""

    label: str
    run: str
    epoch: int | None = None


@dataclasses.dataclass(frozen=True)
class Stage:
    """One evaluation: ``runs`` (names, or :class:`At` for a run under another label or at
    another epoch; the first baseline among them is the reference every difference is to and
    the fixed model of the perturbation test), the GAN-test ``judges`` (run names), and the
    measurements with their settings. Written to ``results/<study>/<name>/``."""

    name: str
    runs: tuple[str | At, ...]
    measurements: tuple[str, ...]
    judges: tuple[str, ...] = ()
    settings: Mapping[str, object] = dataclasses.field(default_factory=dict)
    common: Common = Common()
    epoch: int | None = None  # every run at this epoch's checkpoint (None: its last)
    # Seconds the stage took on the study's machine when last measured (the budget's estimate
    # until study.json records it).
    expected_seconds: float = 60.0

    def evaluated(self) -> list[At]:
        """Every evaluated run as an :class:`At` with its epoch resolved."""
        out = []
        for entry in self.runs:
            at = At(entry, entry) if isinstance(entry, str) else entry
            out.append(at if at.epoch is not None else at._replace(epoch=self.epoch))
        return out

    def trained_runs(self) -> dict[str, int | None]:
        """``{run: the epoch it must have reached (None: all of its epochs)}`` for the runs and
        judges this stage reads."""
        need: dict[str, int | None] = {judge: None for judge in self.judges}
        for at in self.evaluated():
            have = need.get(at.run, 0)
            need[at.run] = None if at.epoch is None or have is None else max(have, at.epoch)
        return need


@dataclasses.dataclass(frozen=True)
class Study:
    """What to train and evaluate, what it answers and what it costs.

    ``runs`` (``{name: TrainConfig}``, in training order) are trained into
    ``<runs root>/<study>/<name>``; a config's ``data.data_dir`` is filled in from the command
    line when ``needs_data_dir``. ``side_by_side``: train all runs at once as separate processes
    sharing one accelerator (the device plan of a GPU study), whose ``--budget`` then fixes the
    number of epochs; otherwise runs train one after another and a budget trains what fits.
    ``epoch_seconds``: seconds per epoch by run name or objective on the study's machine,
    measured, for planning before a run has logged an epoch of its own.
    """

    name: str
    question: str
    runs: Mapping[str, TrainConfig]
    stages: tuple[Stage, ...]
    claims: tuple[str, ...] = ()
    machine: str = "2 CPU cores"
    needs_data_dir: bool = False
    side_by_side: bool = False
    epoch_seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    # A summary over the stages (gradjax.studies.summaries), e.g. seed-level verdicts.
    summary: str | None = None
    # The runs directory this study trains into and reads (default: its own name); a study
    # that evaluates another's runs differently names that study here.
    runs_of: str | None = None
    # ``{stage: {label: why}}``: evaluated runs that are no evidence for the verdicts (a run
    # that diverged and was evaluated at its last good checkpoint, say); reports still show them.
    excluded: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.claims) - set(CLAIMS))
        if unknown:
            raise ValueError(f"study {self.name!r} names unknown claims {unknown}")
        names = [s.name for s in self.stages]
        if len(set(names)) < len(names):
            raise ValueError(f"study {self.name!r} repeats a stage name: {names}")
        for stage in self.stages:
            missing = sorted(set(stage.trained_runs()) - set(self.runs))
            if missing:
                raise ValueError(
                    f"stage {stage.name!r} of {self.name!r} reads runs it does not train: {missing}"
                )

    def configs(self, data_dir: str | None = None, epochs: int | None = None):
        """``{name: TrainConfig}`` with ``data_dir`` filled in and, for a budgeted device plan,
        every run's epochs replaced by ``epochs``."""
        out = {}
        for name, config in self.runs.items():
            if data_dir is not None:
                config = dataclasses.replace(
                    config, data=dataclasses.replace(config.data, data_dir=data_dir)
                )
            if epochs is not None:
                config = dataclasses.replace(
                    config, run=dataclasses.replace(config.run, epochs=epochs)
                )
            out[name] = config
        return out

    def estimated_epoch_seconds(self, name: str) -> float | None:
        """The spec's seconds per epoch of run ``name`` (by name, else by objective)."""
        objective = self.runs[name].objective.name
        return self.epoch_seconds.get(name, self.epoch_seconds.get(objective))


def as_jsonable(value):
    """Dataclasses, tuples and mappings as plain JSON values (a spec's record)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): as_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_jsonable(v) for v in value]
    return value


def stage_record(stage: Stage, configs: Mapping[str, TrainConfig]) -> dict:
    """What determines a stage's numbers: its spec and the configs of every run it reads."""
    runs = {}
    for name in sorted(stage.trained_runs()):
        config = as_jsonable(configs[name])
        config["data"]["data_dir"] = None  # where the data lies is not what was measured
        runs[name] = config
    return {"stage": as_jsonable(stage) | {"expected_seconds": None}, "runs": runs}


def digest(record) -> str:
    """SHA-256 (16 hex characters) of a JSON record, keys sorted."""
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["At", "Stage", "Study", "as_jsonable", "digest", "stage_record"]
