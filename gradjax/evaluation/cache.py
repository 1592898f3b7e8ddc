"""Resumable evaluation: finished pieces of work kept on disk, found again by what determines them.

At CIFAR size an evaluation takes hours on a CPU, longer than a process may live. It is cut into
pieces (a whole measurement; inside the long ones, one run or one run × method) whose results
are pickled under a directory by a key: the piece's name and settings, the shared settings, the
models it reads (name and a digest of their parameters), a digest of the code that computes it
(:func:`code_digest`), and the versions of Python and the numerical libraries. A re-run after an
interruption loads the finished pieces; anything that could change a result changes its key, so
a stale piece is never used (the digests: :mod:`gradjax.evaluation.code_digest`). Files are
written atomically (temporary file, then rename): a kill leaves no half-written piece.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import numpy as np

T = TypeVar("T")


def _to_host(value):
    """``value`` with every array brought to the host as numpy, containers and the order of
    dict keys kept (``jax.device_get`` would sort them, and the order of runs is the order of
    the report's rows)."""
    if isinstance(value, dict):
        return {k: _to_host(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_host(v) for v in value)
    if isinstance(value, jax.Array):
        return np.asarray(value)
    return value


class EvalCache:
    """Pickled results under ``directory`` by key; ``directory=None`` computes every time.

    Values are brought to the host (:func:`_to_host`) before pickling, so a piece holds numpy
    arrays and Python numbers only.
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = None if directory is None else Path(directory)

    def path(self, key: dict) -> Path | None:
        """Where the piece of ``key`` (JSON-serialisable, ``str`` for the rest) is kept."""
        if self.directory is None:
            return None
        text = json.dumps(key, sort_keys=True, default=str)
        return self.directory / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.pkl"

    def get_or_compute(self, key: dict, compute: Callable[[], T]) -> T:
        """The kept value of ``key``, or ``compute()`` kept and returned.

        An unreadable file (truncated by a full disk, another pickle protocol) is recomputed
        with a warning.
        """
        path = self.path(key)
        if path is not None and path.exists():
            try:
                return pickle.loads(path.read_bytes())
            except Exception as err:  # noqa: BLE001 — any unreadable piece is recomputed
                warnings.warn(
                    f"evaluation cache {str(path)!r} is unreadable ({type(err).__name__}); "
                    "computing it again.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        value = _to_host(compute())
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
                f.write(pickle.dumps(value))
            os.replace(f.name, path)
        return value


__all__ = ["EvalCache"]
