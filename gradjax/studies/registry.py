"""Every study by name: ``python -m gradjax.reproduce NAME`` runs one, ``--list`` shows them.

Adding a study is one :class:`~gradjax.studies.spec.Study` (in :mod:`gradjax.studies.mnist`,
:mod:`gradjax.studies.cifar` or a module of its own) and one line here.
"""

from __future__ import annotations

from gradjax.studies import cifar, mnist
from gradjax.studies.spec import Study

STUDIES: dict[str, Study] = {
    study.name: study
    for study in (
        mnist.DEMO,
        mnist.SEEDS_STUDY,
        mnist.DYNAMICS,
        mnist.ATTRIBUTION,
        mnist.SWEEP,
        mnist.ESTIMATORS_STUDY,
        mnist.HUTCHINSON_LONG,
        mnist.DIGITS_STUDY,
        cifar.SMALL_STUDY,
        cifar.MU_STUDY,
        cifar.RESNET18_STUDY,
        cifar.RESNET18_SEEDS,
    )
}

__all__ = ["STUDIES"]
