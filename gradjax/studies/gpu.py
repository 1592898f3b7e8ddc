"""The studies of the paper's network, ResNet-18, on CIFAR-10 on one accelerator: every run
side by side (the device plan), their epochs set by ``--budget``. ``--data-dir`` as for
:mod:`gradjax.studies.cifar`, whose settings these share."""

from __future__ import annotations

import dataclasses

from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import perturbation, samples
from gradjax.evaluation.saliency_methods import PAPER_METHODS
from gradjax.studies.builders import (
    PLAIN_JUDGE,
    ROBUST_JUDGE,
    judges,
    objective_runs,
    with_run,
)
from gradjax.studies.cifar import CIFAR_COMMON, CIFAR_OBJECTIVES, OBJECTIVE_NAMES
from gradjax.studies.spec import At, Stage, Study
from gradjax.training.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)

_GAN_TEST = {"samples": samples.Settings(samples_per_class=100)}
_PAPER_PERTURBATION = {"perturbation": perturbation.Settings(methods=PAPER_METHODS)}

RESNET18 = TrainConfig(
    data=DataConfig("folder", batch_size=128, augment=True),
    model=ModelConfig("resnet18"),
    objective=ObjectiveConfig("baseline"),
    optim=OptimConfig(lr=0.1, warmup_epochs=1.0),
    run=RunConfig(epochs=200, seed=0, log_every=50, keep_checkpoints=None),
)
# The GPU runs log no diagnostics (h, ‖∇f‖² of objectives that do not train on them).
_quiet = {n: dataclasses.replace(o, diagnostics=False) for n, o in CIFAR_OBJECTIVES.items()}
# One accelerator (H200), benchmarks/step_cost.py --model resnet18: ms per step × 391 steps.
_GPU_EPOCH_SECONDS = {
    "baseline": 2.1,
    "score-matching": 10.2,
    "anti-score-matching": 3.6,
    "gradient-norm": 8.7,
}
_resnet_runs = objective_runs(RESNET18, _quiet, [0], suffix=False)
RESNET18_STUDY = Study(
    name="cifar10-resnet18",
    question="ResNet-18 (the paper's architecture, normaliser-free) on CIFAR-10 on one "
    "accelerator, as many epochs as the budget allows, one seed",
    runs={
        **_resnet_runs,
        "gan-test-classifier": with_run(
            judges(RESNET18, ModelConfig("vgg11"), plain_epochs=200, robust_epochs=None)[
                PLAIN_JUDGE
            ],
            keep_checkpoints=None,
        ),
        # Trained again with gradients clipped to norm 1 after the shared schedule diverged.
        "anti-score-matching-clipped": with_run(
            TrainConfig(
                RESNET18.data,
                RESNET18.model,
                ObjectiveConfig("anti-score-matching", diagnostics=False),
                OptimConfig(lr=0.1, warmup_epochs=1.0, grad_clip=1.0),
                RESNET18.run,
            ),
            seed=0,
        ),
    },
    stages=(
        Stage(
            "9ep", OBJECTIVE_NAMES, ("accuracy", "accuracy-epochs", "density"), common=CIFAR_COMMON
        ),
        Stage(
            "9ep/perturbation-2000",
            OBJECTIVE_NAMES,
            ("perturbation", "score-matching-objective"),
            settings=_PAPER_PERTURBATION,
            common=Common(num_examples=2000, dataset_figures=False, keep_per_image=False),
        ),
        Stage(
            "9ep/gan-test",
            OBJECTIVE_NAMES,
            ("samples", "gan-test"),
            judges=("gan-test-classifier",),
            settings=_GAN_TEST,
            common=CIFAR_COMMON,
        ),
        Stage(
            "9ep-anti-clipped",
            ("baseline", At("anti-score-matching", "anti-score-matching-clipped")),
            ("accuracy", "density"),
            common=CIFAR_COMMON,
        ),
        Stage(
            "9ep-anti-clipped/perturbation-1000",
            ("baseline", At("anti-score-matching", "anti-score-matching-clipped")),
            ("perturbation", "score-matching-objective"),
            settings=_PAPER_PERTURBATION,
            common=Common(num_examples=1000, dataset_figures=False, keep_per_image=False),
        ),
    ),
    claims=("baseline-density", "density", "samples", "perturbation", "accuracy"),
    excluded={
        stage: {
            "anti-score-matching": "diverged at step 550 (loss NaN); evaluated at its epoch-1 "
            "checkpoint. 9ep-anti-clipped holds it trained with clipped gradients."
        }
        for stage in ("9ep", "9ep/perturbation-2000", "9ep/gan-test")
    },
    machine="one NVIDIA H200",
    needs_data_dir=True,
    side_by_side=True,
    epoch_seconds={**_GPU_EPOCH_SECONDS, "gan-test-classifier": 2.1},
    summary="seeds",
)

# Seeds 1 and 2 of every objective on one optimiser (a 5-epoch warm-up for every run, so that
# anti-score-matching needs no clipping of its own), the baseline, score-matching and
# gradient-norm to 60 epochs evaluated at 9, 20 and 60, anti-score-matching to 20; judged by
# a plain and an adversarially trained VGG-11.
_seeds_base = TrainConfig(
    RESNET18.data,
    RESNET18.model,
    RESNET18.objective,
    OptimConfig(lr=0.1, warmup_epochs=5.0),
    with_run(RESNET18, epochs=60).run,
)
_seeds_stages = []
for _seed in (1, 2):
    for _epoch in (9, 20, 60):
        _names = [f"{o}-seed{_seed}" for o in OBJECTIVE_NAMES]
        if _epoch > 20:
            _names.remove(f"anti-score-matching-seed{_seed}")
        _seeds_stages.append(
            Stage(
                f"seed{_seed}-epoch{_epoch:03d}",
                tuple(_names),
                ("accuracy", "density", "samples", "gan-test", "perturbation"),
                judges=(PLAIN_JUDGE, ROBUST_JUDGE),
                settings={
                    **_GAN_TEST,
                    "perturbation": perturbation.Settings(methods=("logit-gradient", "random")),
                },
                common=Common(num_examples=2000, dataset_figures=False, keep_per_image=False),
                epoch=_epoch,
                expected_seconds=240,
            )
        )
RESNET18_SEEDS = Study(
    name="cifar10-resnet18-seeds",
    question="ResNet-18 on CIFAR-10 at two more seeds on one optimiser, to 60 epochs: do the "
    "one-seed verdicts of cifar10-resnet18 repeat, and does the baseline's alignment decay?",
    runs={
        **objective_runs(_seeds_base, CIFAR_OBJECTIVES, (1, 2)),
        **judges(_seeds_base, ModelConfig("vgg11"), plain_epochs=30, robust_epochs=30),
    },
    stages=tuple(_seeds_stages),
    claims=("baseline-density", "density", "samples", "perturbation", "alignment-decay"),
    machine="one NVIDIA H100 or H200",
    needs_data_dir=True,
    side_by_side=True,
    epoch_seconds={**_GPU_EPOCH_SECONDS, "adversarial": 14.0},
    summary="seeds",
)

__all__ = ["RESNET18", "RESNET18_SEEDS", "RESNET18_STUDY"]
