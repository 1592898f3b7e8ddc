"""The registry of measurements: ``MEASUREMENTS[name]`` is a :class:`Measurement`.

Every measurement is one module here with a frozen ``Settings`` dataclass, a
``measure(ctx, settings) -> Result`` and a ``report(metrics) -> markdown lines``; it declares
the measurements whose results it reads (``needs``) and whether it needs the independent
classifier, and may declare the paper's claims it judges (``VERDICTS`` over
``quantities(metrics)``, :mod:`gradjax.evaluation.claims`). Adding one is one module and one
line below; :func:`evaluate_runs` runs them in
this order, after their dependencies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from gradjax.evaluation.measurements import (
    accuracy,
    accuracy_epochs,
    attribution_quality,
    clamp,
    density,
    density_epochs,
    fooling,
    gan_test,
    perturbation,
    perturbation_fills,
    saliency_maps,
    samples,
    sanity,
    score_matching_objective,
)


@dataclasses.dataclass(frozen=True)
class Measurement:
    """``measure(ctx, settings) -> Result``, its ``Settings`` class, ``report(metrics)``, and
    the claims it judges: ``verdicts`` (:class:`~gradjax.evaluation.claims.Verdict` rows) over
    ``quantities(metrics)``, its per-run numbers."""

    measure: Callable
    settings: type
    report: Callable[[dict], list[str]]
    title: str
    needs: tuple[str, ...] = ()
    needs_judge: bool = False
    verdicts: tuple = ()
    quantities: Callable[[dict], dict] | None = None


def _entry(module, title: str, **kwargs) -> Measurement:
    return Measurement(
        module.measure,
        module.Settings,
        module.report,
        title,
        verdicts=getattr(module, "VERDICTS", ()),
        quantities=getattr(module, "quantities", None),
        **kwargs,
    )


MEASUREMENTS: dict[str, Measurement] = {
    "accuracy": _entry(accuracy, "Test accuracy (cf. the paper's Table 1)"),
    "accuracy-epochs": _entry(accuracy_epochs, "Test accuracy over training"),
    "density": _entry(density, "Density ratios (Fig. 1)"),
    "density-epochs": _entry(density_epochs, "Density ratio over training"),
    "samples": _entry(samples, "Samples by gradient ascent (Fig. 2)"),
    "gan-test": _entry(gan_test, "GAN-test", needs=("samples",), needs_judge=True),
    "perturbation": _entry(perturbation, "Pixel perturbation (Fig. 3)"),
    "perturbation-fills": _entry(
        perturbation_fills, "Pixel perturbation with other fills and orders (ROAD, …)"
    ),
    "saliency-maps": _entry(saliency_maps, "Saliency maps"),
    "fooling": _entry(fooling, "Fooling"),
    "sanity": _entry(sanity, "Randomisation sanity checks (Adebayo et al. 2018)"),
    "score-matching-objective": _entry(
        score_matching_objective, "Held-out score-matching objective and training curvature"
    ),
    "attribution-quality": _entry(
        attribution_quality, "Infidelity and max-sensitivity (Yeh et al. 2019)"
    ),
    "clamp": _entry(clamp, "Anti-score-matching's clamp over training (h ≥ τ)"),
}

__all__ = ["MEASUREMENTS", "Measurement"]
