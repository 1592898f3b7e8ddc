"""Evaluation: the paper's measurements as pure functions (:mod:`gradjax.evaluation.maths`),
their statistics (:mod:`~gradjax.evaluation.stats`), the registry of measurements that run
them on trained checkpoints (:mod:`~gradjax.evaluation.measurements`), the verdicts on the
paper's claims (:mod:`~gradjax.evaluation.claims`), :func:`evaluate_runs` and the report."""

from gradjax.extras import require

require("train", "gradjax.evaluation")
require("eval", "gradjax.evaluation")

from gradjax.evaluation.maths.density_ratios import density_ratios
from gradjax.evaluation.maths.pixel_perturbation import (
    perturb,
    perturbation_correct,
    relevance_ranks,
)
from gradjax.evaluation.maths.saliency_fooling import (
    corner_mask,
    energy_inside,
    fooling_objective,
    normalised_saliency,
    shift_logits,
    tempered_loss_gradients,
)
from gradjax.evaluation.maths.sampling import gradient_ascent, noisy_start

__all__ = [
    "corner_mask",
    "density_ratios",
    "energy_inside",
    "fooling_objective",
    "gradient_ascent",
    "noisy_start",
    "normalised_saliency",
    "perturb",
    "perturbation_correct",
    "relevance_ranks",
    "shift_logits",
    "tempered_loss_gradients",
]
