"""Resumable evaluation: finished pieces of work kept on disk, found again by what determines them.

At CIFAR size an evaluation takes hours on a CPU, longer than a process may live. It is cut into
pieces (a whole measurement; inside the long ones, one run or one run × method) whose results
are pickled under a directory by a key: the piece's name and settings, the shared settings, the
models it reads (name and a digest of their parameters), a digest of the source of every
gradjax module the piece's code reaches, and the versions of the numerical libraries. A re-run
after an interruption loads the finished pieces; anything that could change a result changes
its key, so a stale piece is never used. Files are written atomically (temporary file, then
rename): a kill leaves no half-written piece.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
import pickle
import sys
import tempfile
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import numpy as np

T = TypeVar("T")


def params_digest(params) -> str:
    """SHA-256 (hex, 16 characters) of a parameter tree's structure, shapes, dtypes and bytes."""
    h = hashlib.sha256(str(jax.tree.structure(params)).encode())
    for leaf in jax.tree.leaves(params):
        array = np.asarray(leaf)
        h.update(f"{array.shape}{array.dtype}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


# The libraries whose numerics a kept result depends on, beside gradjax's own source: optax
# for the fooling measurement's fine-tuning. orbax only reads the checkpoints, whose bytes the
# parameters' digest already covers.
NUMERIC_LIBRARIES = ("jax", "jaxlib", "flax", "numpy", "optax", "scipy")


def library_versions() -> dict[str, str | None]:
    """``{distribution: installed version}`` of :data:`NUMERIC_LIBRARIES` (``None``: absent)."""
    versions = {}
    for name in NUMERIC_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _gradjax_modules(module: types.ModuleType) -> list[types.ModuleType]:
    """``module`` and every gradjax module reachable from its globals (modules, and the modules
    that define its functions and classes), transitively, sorted by name."""
    seen: dict[str, types.ModuleType] = {}
    stack = [module]
    while stack:
        current = stack.pop()
        if current.__name__ in seen:
            continue
        seen[current.__name__] = current
        for value in vars(current).values():
            name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            if isinstance(name, str) and name.split(".")[0] == "gradjax" and name in sys.modules:
                stack.append(sys.modules[name])
    return [seen[name] for name in sorted(seen)]


def source_digest(module: types.ModuleType) -> str:
    """SHA-256 (hex, 16 characters) of the source files of :func:`_gradjax_modules`."""
    h = hashlib.sha256()
    for mod in _gradjax_modules(module):
        h.update(mod.__name__.encode())
        h.update(Path(inspect.getfile(mod)).read_bytes())
    return h.hexdigest()[:16]


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


__all__ = ["EvalCache", "library_versions", "params_digest", "source_digest"]
