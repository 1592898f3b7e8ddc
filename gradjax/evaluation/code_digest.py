"""What a kept piece of an evaluation was computed from, as digests: the parameters of the
models it read (:func:`params_digest`), the versions of the numerical libraries
(:func:`library_versions`), and the source of the code that computes it (:func:`code_digest`).

The code digest follows functions, not modules: the source of the function computing a piece,
of every gradjax function, class and constant it names, transitively, and of the function
enclosing it when it is a closure. Editing a measurement's report, or a module the piece never
calls, keeps the hours of pieces an evaluation at CIFAR size holds; editing anything the piece
calls discards them. What a piece reaches only through an object's attributes (``ctx.dataset``,
``run.apply_fn``) cannot be followed by name, so the caller names those roots too (modules,
whose files and the gradjax modules they import count whole, or classes).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import linecache
import platform
import sys
import types
from collections.abc import Iterable
from pathlib import Path

import jax
import numpy as np


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


def library_versions(names=NUMERIC_LIBRARIES) -> dict[str, str | None]:
    """``{distribution: installed version}`` of :data:`NUMERIC_LIBRARIES` (``None``: absent),
    and ``"python"``: the interpreter's version."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _is_gradjax(name) -> bool:
    return isinstance(name, str) and name.split(".")[0] == "gradjax"


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
            if _is_gradjax(name) and name in sys.modules:
                stack.append(sys.modules[name])
    return [seen[name] for name in sorted(seen)]


def _code_names(code: types.CodeType) -> list[str]:
    """Global and attribute names a code object and the code nested in it use, sorted."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(_code_names(const))
    return sorted(names)


# Values a function reads from its globals that are recorded by their repr (which shows them in
# full); arrays are recorded by a hash of their bytes, containers element by element.
_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def _callable_function(value):
    """The Python function behind a partial's ``func``, a bound or static method, a property,
    or a wrapper with ``__wrapped__`` (``jax.jit``, ``functools.cache``); else ``None``."""
    for _ in range(16):
        if inspect.isfunction(value):
            return value
        if isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, property):
            value = value.fget
        elif isinstance(value, functools.cached_property):
            value = value.func
        elif isinstance(value, staticmethod | classmethod) or inspect.ismethod(value):
            value = value.__func__
        elif hasattr(value, "__wrapped__"):
            value = value.__wrapped__
        else:
            return None
    return None


class _CodeWalk:
    """The gradjax code reachable from some roots, as ``{name: text}`` (see :func:`code_digest`)."""

    def __init__(self):
        self.texts: dict[str, str] = {}
        self.seen: set[int] = set()

    def function(self, fn: types.FunctionType) -> None:
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        label = f"{fn.__module__}:{fn.__qualname__}"
        try:
            self.texts[label] = inspect.getsource(fn)
        except (OSError, TypeError):  # generated code (a dataclass's __init__): its class counts
            pass
        names = _code_names(fn.__code__)
        for name in names:
            if name in fn.__globals__:
                self.value(fn.__globals__[name], names, f"{label}:{name}")
        for default in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values()):
            self.value(default, names)
        for cell in fn.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if _callable_function(contents) is not None or inspect.isclass(contents):
                self.value(contents, names)
        if "<locals>" in fn.__qualname__:
            # A closure computes with what its enclosing function prepared: that counts too.
            enclosing = sys.modules[fn.__module__]
            for part in fn.__qualname__.split(".<locals>")[0].split("."):
                enclosing = getattr(enclosing, part, None)
            if enclosing is not None:
                self.value(enclosing, names)

    def cls(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        try:
            self.texts[f"{cls.__module__}:{cls.__qualname__}"] = inspect.getsource(cls)
        except (OSError, TypeError):  # no source file: its methods' sources still count
            pass
        for attribute in vars(cls).values():
            fn = _callable_function(attribute)
            if fn is not None and _is_gradjax(fn.__module__):
                self.function(fn)

    def module(self, module: types.ModuleType) -> None:
        """A module counted whole: its file and those of the gradjax modules it imports."""
        if id(module) in self.seen:
            return
        self.seen.add(id(module))
        for mod in _gradjax_modules(module):
            self.texts[f"{mod.__name__}:<file>"] = Path(inspect.getfile(mod)).read_text()

    def value(self, value, names: list[str], label: str | None = None) -> None:
        """What a global of followed code holds; ``names``: the names that code uses, which
        select the attributes followed when ``value`` is a gradjax module; ``label``: where a
        plain value (a number, a string, an array, containers of them) is recorded by value."""
        if label is not None and isinstance(value, _PLAIN):
            self.texts[label] = repr(value)
            return
        if label is not None and isinstance(value, np.ndarray):
            self.texts[label] = (
                f"{value.dtype}{value.shape}"
                + hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
            )
            return
        if inspect.ismodule(value):
            if _is_gradjax(value.__name__):
                for name in names:
                    if name in vars(value):
                        self.value(vars(value)[name], names)
            return
        if inspect.isclass(value):
            if _is_gradjax(value.__module__):
                self.cls(value)
            return
        fn = _callable_function(value)
        if fn is not None:
            if _is_gradjax(fn.__module__):
                self.function(fn)
            if isinstance(value, functools.partial):
                for bound in (*value.args, *value.keywords.values()):
                    self.value(bound, names)
            return
        if isinstance(value, dict):
            for i, (k, v) in enumerate(value.items()):
                self.value(k, names, label and f"{label}[{i}]")
                self.value(v, names, label and f"{label}[{k!r}]")
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                self.value(v, names, label and f"{label}[{i}]")
        elif isinstance(value, set | frozenset):
            if label is not None:
                self.texts[label] = repr(sorted(map(repr, value)))
            for v in value:
                self.value(v, names)
        elif _is_gradjax(getattr(type(value), "__module__", None)):
            self.cls(type(value))  # an instance (a default options object): its class


def code_digest(roots: Iterable) -> str:
    """SHA-256 (hex, 16 characters) of the gradjax code reachable from ``roots``.

    A root is a function (or a partial, method or jitted function around one), a class, or a
    module. From a function: its source (decorators included), and, transitively, every gradjax
    function, class or module attribute that a name in its code resolves to among its globals,
    its defaults, the functions in its closure, and its enclosing function when it is a closure.
    From a class: its source and its methods. A module counts whole, with the gradjax modules
    it imports. Plain values a function reads from its globals (numbers, strings, arrays,
    containers of them) count by value, wherever they are defined.
    """
    linecache.checkcache()  # inspect reads through linecache: drop files edited since
    walk = _CodeWalk()
    for root in roots:
        if inspect.ismodule(root):
            walk.module(root)
        elif inspect.isclass(root):
            walk.cls(root)
        else:
            fn = _callable_function(root)
            if fn is None:
                raise TypeError(f"code_digest needs functions, classes or modules, got {root!r}")
            walk.function(fn)  # a root counts wherever it is defined; what it calls, if gradjax
            walk.value(root, [])  # what a partial binds
    h = hashlib.sha256()
    for name in sorted(walk.texts):
        h.update(name.encode())
        h.update(walk.texts[name].encode())
    return h.hexdigest()[:16]


__all__ = ["NUMERIC_LIBRARIES", "code_digest", "library_versions", "params_digest"]
