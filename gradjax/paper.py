"""The paper's constants, reported numbers and claims, each with where the paper states it.

Srinivas & Fleuret, *Rethinking the role of gradient-based attribution methods for model
interpretability*, ICLR 2021 (the camera-ready, arXiv 2006.09128 v2, unless "v1" is said: the
first arXiv version of June 2020, whose §4.2.2 and Table 1 differ from the camera-ready's).

Presets, objectives, verdicts and reports read these names; nothing else in gradjax writes the
paper's numbers down. Settings the paper leaves open are not here: they are gradjax's choices
and live beside the code that uses them (e.g. the Taylor estimator's σ in
:class:`gradjax.training.config.ObjectiveConfig`), listed in REPRODUCTION.md's deviations table.
"""

from __future__ import annotations

from typing import NamedTuple

# §5: "All models use the softplus non-linearity with β = 10" (so that Hessians are non-zero).
SOFTPLUS_BETA = 10.0

# §5: the regularisation constants. Score-matching CE + λ(h + ½‖∇x f_y‖² + μh²), λ = 1e-3,
# μ = 1e-4; anti-score-matching CE − λ·min(h, τ), λ = 1e-4, τ = 1000; gradient-norm
# regularisation CE + λ·½‖∇x f_y‖², λ = 1e-3.
LAMBDA = {
    "baseline": 0.0,
    "score-matching": 1e-3,
    "anti-score-matching": 1e-4,
    "gradient-norm": 1e-3,
}
MU = 1e-4
TAU = 1000.0

# §5: ResNet-18 on CIFAR-100, SGD with momentum, trained for 200 epochs.
NETWORK = "resnet18"
DATASET = "cifar100"
EPOCHS = 200


class Table1Row(NamedTuple):
    """Test accuracy and GAN-test (%) of one objective (ResNet-18, CIFAR-100)."""

    accuracy: float
    gan_test: float


# Table 1 of the camera-ready.
TABLE1 = {
    "baseline": Table1Row(78.01, 59.47),
    "score-matching": Table1Row(72.20, 72.75),
    "anti-score-matching": Table1Row(74.87, 16.40),
    "gradient-norm": Table1Row(76.60, 80.07),
}

# v1's Table 1 GAN-test (%) where it differs from the camera-ready's: the same claim's numbers
# moved from 1.3 → 59.47 (baseline) and 57.7 → 72.75 (score-matching) between the versions.
TABLE1_V1_GAN_TEST = {"baseline": 1.3, "score-matching": 57.7}

# v1 §4.2.2 (Fig. 6): GAN-test (%) of the baseline's samples after these epochs of training,
# the evidence that the baseline's alignment decays as it trains.
V1_BASELINE_GAN_TEST_BY_EPOCH = {25: 10.5, 50: 3.3, 150: 1.3}
# v1 Fig. 2b: the baseline's density ratios, plotted at these epochs, worsen with training.
V1_DENSITY_EPOCHS = (1, 50, 100, 200)

# Table 2: score-matching over a grid of its constants. gradjax sweeps λ × μ over these values;
# the paper's cells are not transcribed here, so no verdict compares numbers with them.
TABLE2_LAMBDAS = (1e-5, 1e-4, 1e-3)
TABLE2_MUS = (1e-4, 1e-3, 1e-2)

# App. A (thesis eq. 5.7): the share of the L1-normalised logit-gradient saliency that the
# fooling fine-tune moves into the mask.
FOOLING_MASK_ENERGY = 0.84


class Claim(NamedTuple):
    """One of the paper's claims: its wording and where the paper makes it."""

    statement: str
    where: str


# Every claim a verdict can be about, by id (the verdict rows of the measurements name them).
CLAIMS = {
    "shift-invariance": Claim(
        "Adding any g(x) to every logit leaves the classifier unchanged and moves its "
        "logit-gradients at will",
        "§2",
    ),
    "baseline-density": Claim(
        "A standard (baseline) classifier's implicit density is not aligned with the data: "
        "it finds noisy images more likely than clean ones",
        "§5.1.1, Fig. 1",
    ),
    "density": Claim(
        "Score-matching and gradient-norm regularisation align the implicit density (noisy "
        "images less likely than for the baseline); anti-score-matching disaligns it",
        "§5.1.1, Fig. 1",
    ),
    "alignment-decay": Claim(
        "The baseline's alignment decays as it trains: its density ratios worsen and its "
        "samples' GAN-test falls over the epochs",
        "v1 §4.2.2, Fig. 2b and 6",
    ),
    "samples": Claim(
        "Gradient ascent on f_y samples the implicit density: more class-like samples (higher "
        "GAN-test) for score-matching and gradient-norm, less for anti-score-matching",
        "§5.1.2, Table 1",
    ),
    "denoising": Claim(
        "Gradient ascent from noisy images denoises them when the density is aligned",
        "v1 Fig. 5, thesis Fig. 5.8",
    ),
    "perturbation": Claim(
        "Better-aligned models' gradients rank pixels better: pixel perturbation keeps more "
        "accuracy for score-matching and gradient-norm, less for anti-score-matching, with "
        "each model's own and with a fixed model",
        "§5.2.1, Fig. 3",
    ),
    "accuracy": Claim("The regularisers cost some test accuracy", "Table 1"),
    "fooling": Claim(
        "Loss-gradients resist saliency fooling that logit-gradients do not, unless the "
        "softmax temperature is high",
        "App. A",
    ),
    "table2": Claim(
        "Score-matching's constants trade alignment against accuracy over a grid of λ × μ",
        "Table 2",
    ),
}

__all__ = [
    "CLAIMS",
    "DATASET",
    "EPOCHS",
    "FOOLING_MASK_ENERGY",
    "LAMBDA",
    "MU",
    "NETWORK",
    "SOFTPLUS_BETA",
    "TABLE1",
    "TABLE1_V1_GAN_TEST",
    "TABLE2_LAMBDAS",
    "TABLE2_MUS",
    "TAU",
    "V1_BASELINE_GAN_TEST_BY_EPOCH",
    "V1_DENSITY_EPOCHS",
    "Claim",
    "Table1Row",
]
