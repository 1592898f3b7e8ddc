"""Pieces the study specs are built from: the paper's four objectives trained at several seeds,
and the GAN-test judges (a plain classifier of another architecture and an adversarially
trained one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gradjax.training.config import ObjectiveConfig, TrainConfig

# The paper's four objectives at their constants (§5), in the order their runs train.
PAPER_OBJECTIVES = ("baseline", "score-matching", "anti-score-matching", "gradient-norm")

PLAIN_JUDGE = "judge-plain"
ROBUST_JUDGE = "judge-robust"


def with_run(config: TrainConfig, **run) -> TrainConfig:
    """``config`` with fields of its run section replaced."""
    return dataclasses.replace(config, run=dataclasses.replace(config.run, **run))


def with_objective(config: TrainConfig, objective: ObjectiveConfig) -> TrainConfig:
    return dataclasses.replace(config, objective=objective)


def objective_runs(
    base: TrainConfig,
    objectives: dict[str, ObjectiveConfig],
    seeds: Iterable[int],
    *,
    suffix: bool = True,
) -> dict[str, TrainConfig]:
    """``{name: config}``: every objective at every seed, seed by seed (all objectives of the
    first seed train first, so a study cut short still has whole seeds). Names are
    ``<objective name>-seed<k>`` (without the suffix when ``suffix`` is off: one seed)."""
    seeds = list(seeds)
    if not suffix and len(seeds) != 1:
        raise ValueError("names without a seed suffix need exactly one seed")
    runs = {}
    for seed in seeds:
        for name, objective in objectives.items():
            label = f"{name}-seed{seed}" if suffix else name
            runs[label] = with_run(with_objective(base, objective), seed=seed)
    return runs


def paper_objectives(**overrides) -> dict[str, ObjectiveConfig]:
    """The four objectives at the paper's constants; ``overrides`` per objective name (e.g.
    ``{"score-matching": ObjectiveConfig("score-matching", mu=1e-3)}``)."""
    objectives = {name: ObjectiveConfig(name) for name in PAPER_OBJECTIVES}
    objectives.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return objectives


def judges(base: TrainConfig, model, *, plain_epochs: int, robust_epochs: int | None, seed=1):
    """The GAN-test judges: ``model`` trained plainly and, with ``robust_epochs``, trained
    adversarially (L2 PGD; :data:`gradjax.core.objectives.OBJECTIVES` ``"adversarial"``),
    both at ``seed``, keeping only their last checkpoint."""
    plain = dataclasses.replace(
        base, model=model, objective=ObjectiveConfig("baseline", diagnostics=False)
    )
    out = {PLAIN_JUDGE: with_run(plain, seed=seed, epochs=plain_epochs, keep_checkpoints=1)}
    if robust_epochs is not None:
        robust = with_objective(plain, ObjectiveConfig("adversarial", diagnostics=False))
        out[ROBUST_JUDGE] = with_run(robust, seed=seed, epochs=robust_epochs, keep_checkpoints=1)
    return out


__all__ = [
    "PAPER_OBJECTIVES",
    "PLAIN_JUDGE",
    "ROBUST_JUDGE",
    "judges",
    "objective_runs",
    "paper_objectives",
    "with_objective",
    "with_run",
]
