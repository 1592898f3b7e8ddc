"""The paper's measurements, one module each: density ratios, sampling, GAN-test, pixel
perturbation, fooling; :mod:`~gradjax.evaluation.runner` runs them on trained checkpoints and
:mod:`~gradjax.evaluation.report` writes the report."""

from gradjax.evaluation.density import density_ratio_curve, density_ratios
from gradjax.evaluation.fooling import (
    corner_mask,
    energy_inside,
    fooling_objective,
    shift_logits,
    tempered_loss_gradients,
)
from gradjax.evaluation.gantest import gan_test_accuracy
from gradjax.evaluation.perturbation import perturb, perturbation_correct, relevance_ranks
from gradjax.evaluation.sampling import gradient_ascent, noisy_start

__all__ = [
    "corner_mask",
    "density_ratio_curve",
    "density_ratios",
    "energy_inside",
    "fooling_objective",
    "gan_test_accuracy",
    "gradient_ascent",
    "noisy_start",
    "perturb",
    "perturbation_correct",
    "relevance_ranks",
    "shift_logits",
    "tempered_loss_gradients",
]
