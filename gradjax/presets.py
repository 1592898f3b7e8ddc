"""The studies of ``python -m gradjax.reproduce``: shared data, model and optimiser settings for
every objective, the independent GAN-test classifier (another architecture, another seed) and
the evaluation's settings. Each preset's choices (model, width, epochs, subset) are ours, made to
fit the machine, and listed in REPRODUCTION.md's deviations table.
"""

from __future__ import annotations

import dataclasses

from gradjax.config import (
    DataConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gradjax.evaluation.context import Common
from gradjax.evaluation.measurements import (
    fooling,
    perturbation,
    samples,
    sanity,
    score_matching_objective,
)
from gradjax.objectives import OBJECTIVES
from gradjax.saliency import PAPER_METHODS, SaliencyOptions

GAN_TEST_RUN = "gan-test-classifier"
# The reference run every study trains first, at the default constants.
BASELINE_RUN = ("baseline", ObjectiveConfig("baseline"))


@dataclasses.dataclass(frozen=True)
class Preset:
    data: DataConfig
    model: ModelConfig
    optim: OptimConfig
    epochs: int
    classifier: ModelConfig
    classifier_seed: int = 1
    # {run name: objective}; default one run per registered objective at the paper's constants.
    objectives: tuple[tuple[str, ObjectiveConfig], ...] | None = None
    estimator: str = "taylor"
    diagnostics: bool = True
    # Training seeds: every objective is trained once per seed; runs of later seeds are named
    # "<run>-seed<k>" (the GAN-test classifier is trained once).
    seeds: tuple[int, ...] = (0,)
    # Further seeds of single runs, ``((run, seed), ...)``, trained after all the others as
    # "<run>-seed<k>": the seed-to-seed spread that a difference between objectives is read
    # against, at the cost of one run, not of the whole study.
    replicates: tuple[tuple[str, int], ...] = ()
    needs_data_dir: bool = False
    common: Common = Common()
    settings: dict = dataclasses.field(default_factory=dict)
    measurements: tuple[str, ...] | None = None  # None: all registered
    # Step cost relative to the baseline's, by run name or else by objective, for the ETA of
    # runs not yet started (measured with benchmarks/step_cost.py; see REPRODUCTION.md).
    cost_ratio: dict = dataclasses.field(default_factory=dict)

    def run_configs(self, data_dir: str | None = None) -> dict[str, TrainConfig]:
        """``{run name: TrainConfig}`` in training order: the baseline and the classifier first
        (a budget cut short still leaves the comparison's reference), then the objectives, then
        the replicates."""
        data = dataclasses.replace(self.data, data_dir=data_dir or self.data.data_dir)
        # Keep every epoch's checkpoint: the evaluation follows the density ratio over epochs.
        run = RunConfig(epochs=self.epochs, seed=self.seeds[0], log_every=20, keep_checkpoints=None)
        objectives = self.objectives or tuple(
            (name, ObjectiveConfig(name, estimator=self.estimator, diagnostics=self.diagnostics))
            for name in OBJECTIVES
        )
        configs = {
            name + ("" if seed == self.seeds[0] else f"-seed{seed}"): TrainConfig(
                data=data,
                model=self.model,
                objective=o,
                optim=self.optim,
                run=dataclasses.replace(run, seed=seed),
            )
            for seed in self.seeds
            for name, o in objectives
        }
        classifier = TrainConfig(
            data=data,
            model=self.classifier,
            objective=ObjectiveConfig("baseline", diagnostics=False),
            optim=self.optim,
            run=dataclasses.replace(run, seed=self.classifier_seed, keep_checkpoints=1),
        )
        unknown = {name for name, _ in self.replicates} - set(configs)
        if unknown:
            raise ValueError(f"replicates name runs this preset does not train: {sorted(unknown)}")
        replicates = {
            f"{name}-seed{seed}": dataclasses.replace(
                configs[name], run=dataclasses.replace(configs[name].run, seed=seed)
            )
            for name, seed in self.replicates
        }
        repeats = len(replicates) < len(self.replicates) or set(replicates) & set(configs)
        if repeats or any(seed == configs[name].run.seed for name, seed in self.replicates):
            raise ValueError(f"replicates {self.replicates} repeat a run or a seed")
        first = {"baseline": configs.pop("baseline"), GAN_TEST_RUN: classifier}
        return {**first, **configs, **replicates}


PAPER_MEASUREMENTS = (
    "accuracy",
    "density",
    "density-epochs",
    "samples",
    "gan-test",
    "perturbation",
    "saliency-maps",
    "fooling",
)
# Beyond the paper's figures: "accuracy-epochs" (when differences between objectives appear
# or close during training) and "clamp" (where anti-score-matching's threshold τ cut its term).
TRAINING_MEASUREMENTS = ("accuracy-epochs", "clamp")
MNIST_MEASUREMENTS = (*PAPER_MEASUREMENTS, "sanity", *TRAINING_MEASUREMENTS)
CIFAR_MEASUREMENTS = (*PAPER_MEASUREMENTS, "score-matching-objective", *TRAINING_MEASUREMENTS)
# μ = 1e-3, not the paper's 1e-4: at 1e-4 score-matching diverged in the first epoch of the
# CPU study (h ran to −298 by step 240, NaN at step 300); μh² holds h near −1/(2μ), −5,000 at
# 1e-4 and −500 at 1e-3, where it settled (REPRODUCTION.md, deviations).
CIFAR10_OBJECTIVES = (
    BASELINE_RUN,
    ("score-matching", ObjectiveConfig("score-matching", mu=1e-3)),
    ("anti-score-matching", ObjectiveConfig("anti-score-matching")),
    ("gradient-norm", ObjectiveConfig("gradient-norm")),
)


MNIST_SETTINGS = {
    "perturbation": perturbation.Settings(
        saliency=SaliencyOptions(smoothgrad_samples=8, ig_steps=16)
    ),
    "sanity": sanity.Settings(methods=PAPER_METHODS),
    "fooling": fooling.Settings(steps=50),
    "samples": samples.Settings(samples_per_class=50),
}


def _sweep(lams, mus) -> tuple[tuple[str, ObjectiveConfig], ...]:
    runs = [BASELINE_RUN]
    for lam in lams:
        for mu in mus:
            runs.append((f"sm-lam{lam:g}-mu{mu:g}", ObjectiveConfig("score-matching", lam, mu)))
    return tuple(runs)


_MNIST = Preset(
    data=DataConfig("mnist5k", batch_size=64, augment=False),
    model=ModelConfig("cnn"),
    optim=OptimConfig(lr=0.05),
    epochs=4,
    classifier=ModelConfig("mlp"),
    settings=MNIST_SETTINGS,
    # The demo's study: the paper's measurements and the sanity checks (results/mnist5k); the
    # other attribution studies ran on purpose into results/mnist5k/beyond-the-paper.
    measurements=MNIST_MEASUREMENTS,
)

# The estimators compared for score-matching (beyond the paper, REPRODUCTION.md): the paper's
# forward Taylor estimator, its central difference, Hutchinson with both probe laws and the
# forward-only finite-difference sliced score matching; "exact" where D is small.
ESTIMATOR_STUDY = ("taylor", "taylor-central", "hutchinson", "hutchinson-rademacher", "fd-ssm")
ESTIMATOR_MEASUREMENTS = (
    "accuracy",
    "density",
    "gan-test",
    "perturbation",
    "score-matching-objective",
)


def _estimator_runs(estimators) -> tuple[tuple[str, ObjectiveConfig], ...]:
    sm = tuple((f"sm-{e}", ObjectiveConfig("score-matching", estimator=e)) for e in estimators)
    return (BASELINE_RUN, *sm)


_ESTIMATOR_SETTINGS = {
    "perturbation": perturbation.Settings(methods=("logit-gradient",)),
    "score-matching-objective": score_matching_objective.Settings(compare_to="sm-taylor"),
    "samples": samples.Settings(samples_per_class=50),
}

PRESETS = {
    # CPU, minutes: the demo's study on the embedded 5,000-image MNIST subset.
    "mnist5k": _MNIST,
    # The paper's Table 2 on mnist5k: score-matching over λ × μ, beside the baseline.
    "mnist5k-sweep": dataclasses.replace(
        _MNIST,
        objectives=_sweep((1e-5, 1e-4, 1e-3), (1e-4, 1e-3, 1e-2)),
        measurements=("accuracy", "density", "gan-test"),  # Table 2's columns
    ),
    # Does the estimator's variance matter for what score-matching learns? Two seeds each.
    "mnist5k-estimators": dataclasses.replace(
        _MNIST,
        objectives=_estimator_runs(ESTIMATOR_STUDY),
        seeds=(0, 1),
        measurements=ESTIMATOR_MEASUREMENTS,
        settings=_ESTIMATOR_SETTINGS,
    ),
    "digits-estimators": Preset(
        data=DataConfig("digits", batch_size=64, augment=False),
        model=ModelConfig("mlp"),
        optim=OptimConfig(lr=0.05),
        epochs=20,
        classifier=ModelConfig("cnn"),
        objectives=_estimator_runs((*ESTIMATOR_STUDY, "exact")),
        seeds=(0, 1),
        measurements=ESTIMATOR_MEASUREMENTS,
        settings=_ESTIMATOR_SETTINGS,
    ),
    # CPU, about ten hours on 2 cores: all of CIFAR-10 (image folder or tar), the fixed
    # (normaliser-free) small ResNet, a VGG-11 as the independent GAN-test classifier.
    "cifar10": Preset(
        data=DataConfig("folder", batch_size=128, augment=True),
        model=ModelConfig("resnet-small", width=16),
        optim=OptimConfig(lr=0.1, warmup_epochs=1.0),
        epochs=40,
        classifier=ModelConfig("vgg11", width=16),
        needs_data_dir=True,
        common=Common(dataset_figures=False),
        settings={"samples": samples.Settings(samples_per_class=100)},
        # The paper's measurements and the held-out score-matching objective; the
        # attribution studies (sanity, fills, infidelity) cost hours on CPU at this size: run
        # them on purpose with eval.py --measurements.
        measurements=CIFAR_MEASUREMENTS,
        objectives=CIFAR10_OBJECTIVES,
        # A second seed of the baseline, trained last: the spread between two seeds of one
        # objective, against which the differences between objectives are read.
        replicates=(("baseline", 1),),
        # benchmarks/step_cost.py, quiet cores, with the cheap softplus derivative rule.
        cost_ratio={
            GAN_TEST_RUN: 0.81,
            "score-matching": 3.92,
            "anti-score-matching": 1.78,
            "gradient-norm": 2.89,
        },
    ),
    # Accelerator: the paper's network on CIFAR-10 (the paper used CIFAR-100), with the cifar10
    # preset's optimiser and objectives, so that the two studies differ in network and length.
    "cifar10-resnet18": Preset(
        data=DataConfig("folder", batch_size=128, augment=True),
        model=ModelConfig("resnet18"),
        optim=OptimConfig(lr=0.1, warmup_epochs=1.0),
        epochs=200,
        objectives=CIFAR10_OBJECTIVES,
        classifier=ModelConfig("vgg11"),
        needs_data_dir=True,
        common=Common(dataset_figures=False),
        settings={"samples": samples.Settings(samples_per_class=100)},
        measurements=CIFAR_MEASUREMENTS,
        # benchmarks/step_cost.py on one H200 (results/cifar10-resnet18/device/): the baseline
        # step 5.3 ms; the double backward costs relatively more there than on the CPU.
        cost_ratio={
            "score-matching": 4.94,
            "anti-score-matching": 1.76,
            "gradient-norm": 4.21,
        },
    ),
}

__all__ = ["GAN_TEST_RUN", "PRESETS", "Preset"]
