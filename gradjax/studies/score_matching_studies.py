"""The studies of score-matching's own settings on the embedded data: its constants over the
paper's Table 2 grid, the trace estimator that trains it (mnist5k and 8×8 digits, where the exact
trace is affordable), and longer training with Hutchinson's estimator. Same model, data and
optimiser as :mod:`gradjax.studies.mnist`."""

from __future__ import annotations

from gradjax.evaluation.measurements import perturbation, samples, score_matching_objective
from gradjax.paper import TABLE2_LAMBDAS, TABLE2_MUS
from gradjax.studies.builders import PLAIN_JUDGE, judges, objective_runs, with_run
from gradjax.studies.mnist import BOTH_JUDGES, DEMO, MNIST, MNIST_JUDGES
from gradjax.studies.spec import At, Stage, Study
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)


def _sweep_objectives() -> dict[str, ObjectiveConfig]:
    grid = {
        f"sm-lam{lam:g}-mu{mu:g}": ObjectiveConfig("score-matching", lam, mu)
        for lam in TABLE2_LAMBDAS
        for mu in TABLE2_MUS
    }
    return {"baseline": ObjectiveConfig("baseline"), **grid}


SWEEP = Study(
    name="mnist5k-sweep",
    question="Score-matching over the λ × μ grid of the paper's Table 2: how do alignment, "
    "accuracy and GAN-test move with its constants?",
    runs={**objective_runs(MNIST, _sweep_objectives(), [0], suffix=False), **MNIST_JUDGES},
    stages=(
        Stage(
            "grid",
            tuple(_sweep_objectives()),
            ("accuracy", "density", "samples", "gan-test"),
            judges=BOTH_JUDGES,
            settings={"samples": samples.Settings(samples_per_class=50)},
            expected_seconds=400,
        ),
    ),
    claims=("table2",),
    epoch_seconds=DEMO.epoch_seconds,
)

# The estimators compared for score-matching: the paper's forward Taylor estimator, its central
# difference, Hutchinson with both probe laws, finite-difference sliced score matching; and the
# exact trace where the input is small enough.
ESTIMATORS = ("taylor", "taylor-central", "hutchinson", "hutchinson-rademacher", "fd-ssm")
ESTIMATOR_MEASUREMENTS = ("accuracy", "density", "samples", "gan-test", "perturbation")
ESTIMATOR_SETTINGS = {
    "perturbation": perturbation.Settings(methods=("logit-gradient", "random")),
    "score-matching-objective": score_matching_objective.Settings(compare_to="sm-taylor"),
    "samples": samples.Settings(samples_per_class=50),
}


def _estimator_objectives(estimators) -> dict[str, ObjectiveConfig]:
    sm = {f"sm-{e}": ObjectiveConfig("score-matching", estimator=e) for e in estimators}
    return {"baseline": ObjectiveConfig("baseline"), **sm}


def _estimator_runs(base: TrainConfig, estimators, seeds=(0, 1)) -> dict[str, TrainConfig]:
    """Seed 0's runs by their names, the others with a ``-seed<k>`` suffix."""
    runs = {}
    for seed in seeds:
        for name, config in objective_runs(
            base, _estimator_objectives(estimators), [seed], suffix=False
        ).items():
            runs[name if seed == seeds[0] else f"{name}-seed{seed}"] = config
    return runs


ESTIMATORS_STUDY = Study(
    name="mnist5k-estimators",
    question="Does the trace estimator's variance change what score-matching learns (CNN, two "
    "seeds)?",
    runs={**_estimator_runs(MNIST, ESTIMATORS), **MNIST_JUDGES},
    stages=(
        Stage(
            "estimators",
            tuple(_estimator_runs(MNIST, ESTIMATORS)),
            (*ESTIMATOR_MEASUREMENTS, "score-matching-objective"),
            judges=BOTH_JUDGES,
            settings=ESTIMATOR_SETTINGS,
            expected_seconds=900,
        ),
    ),
    epoch_seconds={**DEMO.epoch_seconds, "score-matching": 25},
)

DIGITS = TrainConfig(
    data=DataConfig("digits", batch_size=64, augment=False),
    model=ModelConfig("mlp"),
    objective=ObjectiveConfig("baseline"),
    optim=OptimConfig(lr=0.05),
    run=RunConfig(epochs=20, seed=0, log_every=20, keep_checkpoints=None),
)
_digits_mu0 = {
    f"sm-{e}-mu0{'' if seed == 0 else f'-seed{seed}'}": with_run(
        TrainConfig(
            DIGITS.data,
            DIGITS.model,
            ObjectiveConfig("score-matching", mu=0.0, estimator=e),
            DIGITS.optim,
            DIGITS.run,
        ),
        seed=seed,
    )
    for seed in (0, 1)
    for e in ("taylor", "hutchinson")
}
_digits_runs = _estimator_runs(DIGITS, (*ESTIMATORS, "exact"))
DIGITS_STUDY = Study(
    name="digits-estimators",
    question="The same on 8×8 digits (MLP, 20 epochs), where the exact trace is affordable; and "
    "does μ = 0 remove the Taylor estimator's edge (its variance term makes μh² a gradient "
    "penalty)?",
    runs={
        **_digits_runs,
        **_digits_mu0,
        **judges(DIGITS, ModelConfig("cnn"), plain_epochs=20, robust_epochs=None),
    },
    stages=(
        Stage(
            "estimators",
            tuple(_digits_runs),
            ESTIMATOR_MEASUREMENTS[:2] + ("score-matching-objective",),
            settings=ESTIMATOR_SETTINGS,
            expected_seconds=300,
        ),
        Stage(
            "mu0",
            (
                "baseline",
                "sm-taylor",
                "sm-hutchinson",
                "sm-taylor-seed1",
                "sm-hutchinson-seed1",
                *_digits_mu0,
            ),
            ("accuracy", "density", "score-matching-objective"),
            settings=ESTIMATOR_SETTINGS,
            expected_seconds=200,
        ),
    ),
    epoch_seconds={"baseline": 0.3, "score-matching": 0.6},
)


def _sm(epochs: int, seed: int, *, estimator: str = "hutchinson", mu: float | None = None):
    """Score-matching on mnist5k for ``epochs`` at ``seed`` (every epoch's checkpoint kept)."""
    objective = ObjectiveConfig("score-matching", estimator=estimator)
    if mu is not None:
        objective = ObjectiveConfig("score-matching", mu=mu, estimator=estimator)
    config = TrainConfig(MNIST.data, MNIST.model, objective, MNIST.optim, MNIST.run)
    return with_run(config, epochs=epochs, seed=seed)


HUTCHINSON_LONG = Study(
    name="mnist5k-hutchinson-long",
    question="Does Hutchinson-trained score-matching keep sharpening with longer training, and "
    "does a larger μ stop it?",
    runs={
        PLAIN_JUDGE: MNIST_JUDGES[PLAIN_JUDGE],
        "hut-4ep": _sm(4, 0),
        "hut-4ep-seed1": _sm(4, 1),
        "hut-mu1e-3": _sm(4, 0, mu=1e-3),
        "hut-mu1e-3-seed1": _sm(4, 1, mu=1e-3),
        "baseline-12ep": with_run(MNIST, epochs=12),
        "hut-12ep": _sm(12, 0),
        "hut-12ep-seed1": _sm(12, 1),
        "taylor-12ep": _sm(12, 0, estimator="taylor"),
    },
    stages=(
        Stage(
            "long",
            (
                "hut-4ep",
                "hut-4ep-seed1",
                "hut-mu1e-3",
                "hut-mu1e-3-seed1",
                At("hut-12ep-at4", "hut-12ep", 4),
                At("hut-12ep-at8", "hut-12ep", 8),
                "hut-12ep",
                At("hut-12ep-seed1-at4", "hut-12ep-seed1", 4),
                At("hut-12ep-seed1-at8", "hut-12ep-seed1", 8),
                "hut-12ep-seed1",
                "taylor-12ep",
                "baseline-12ep",
            ),
            ("accuracy", "density", "samples", "gan-test", "score-matching-objective"),
            judges=(PLAIN_JUDGE,),
            settings={
                "samples": samples.Settings(samples_per_class=50),
                "score-matching-objective": score_matching_objective.Settings(compare_to="hut-4ep"),
            },
            expected_seconds=600,
        ),
    ),
    epoch_seconds={**DEMO.epoch_seconds, "score-matching": 25},
)

__all__ = ["DIGITS", "DIGITS_STUDY", "ESTIMATORS_STUDY", "HUTCHINSON_LONG", "SWEEP"]
