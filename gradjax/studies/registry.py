"""Every study by name: ``python -m gradjax.reproduce NAME`` runs one, ``--list`` shows them.

Adding a study is one :class:`~gradjax.studies.spec.Study` (in :mod:`gradjax.studies.mnist`,
:mod:`gradjax.studies.score_matching_studies`, :mod:`gradjax.studies.cifar`,
:mod:`gradjax.studies.gpu` or a module of its own) and one line here.
"""

from __future__ import annotations

from gradjax.studies import cifar, gpu, mnist, score_matching_studies
from gradjax.studies.spec import Study

STUDIES: dict[str, Study] = {
    study.name: study
    for study in (
        mnist.DEMO,
        mnist.SEEDS_STUDY,
        mnist.DYNAMICS,
        mnist.ATTRIBUTION,
        score_matching_studies.SWEEP,
        score_matching_studies.ESTIMATORS_STUDY,
        score_matching_studies.HUTCHINSON_LONG,
        score_matching_studies.DIGITS_STUDY,
        cifar.SMALL_STUDY,
        cifar.MU_STUDY,
        gpu.RESNET18_STUDY,
        gpu.RESNET18_SEEDS,
    )
}

__all__ = ["STUDIES"]
