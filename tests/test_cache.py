"""The evaluation cache: kept pieces are found again by their key and only by it."""

import functools
import os
import pickle
import platform
import subprocess
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gradjax.evaluation.cache import EvalCache
from gradjax.evaluation.code_digest import code_digest, library_versions, params_digest


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_kept_piece_is_loaded_and_another_key_computes(tmp_path):
    cache = EvalCache(tmp_path)
    compute, calls = counting({"b": 2, "a": jnp.arange(3.0)})
    first = cache.get_or_compute({"piece": "x", "n": 1}, compute)
    again = cache.get_or_compute({"n": 1, "piece": "x"}, compute)  # key order does not matter
    assert len(calls) == 1
    np.testing.assert_array_equal(again["a"], np.arange(3.0))
    assert isinstance(first["a"], np.ndarray)  # brought to the host before pickling
    assert list(first) == list(again) == ["b", "a"]  # the order of keys (report rows) is kept
    cache.get_or_compute({"piece": "x", "n": 2}, compute)
    assert len(calls) == 2
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".pkl", ".pkl"]  # no temporaries


def test_without_a_directory_nothing_is_kept(tmp_path):
    compute, calls = counting(1)
    cache = EvalCache(None)
    assert cache.get_or_compute({"k": 1}, compute) == cache.get_or_compute({"k": 1}, compute)
    assert len(calls) == 2 and cache.path({"k": 1}) is None


def test_an_unreadable_piece_is_computed_again_with_a_warning(tmp_path):
    cache = EvalCache(tmp_path)
    cache.path({"k": 1}).write_bytes(pickle.dumps([1, 2])[:5])  # truncated
    compute, calls = counting(7)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert cache.get_or_compute({"k": 1}, compute) == 7
    assert cache.get_or_compute({"k": 1}, compute) == 7 and len(calls) == 1


def test_params_digest_sees_values_shapes_and_structure():
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    same = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    assert params_digest(params) == params_digest(same)
    assert params_digest(params) != params_digest({**params, "b": jnp.zeros(3).at[1].set(1e-7)})
    assert params_digest(params) != params_digest({**params, "w": jnp.ones((3, 2))})
    assert params_digest(params) != params_digest({"w2": params["w"], "b": params["b"]})


@pytest.fixture
def make_module(tmp_path, monkeypatch):
    """``make(name, source) -> module``: a throwaway module with a file (written anew, and the
    module executed anew, on every call), registered in ``sys.modules`` for the test."""

    def make(name, source):
        path = tmp_path / f"{name.replace('.', '_')}.py"
        path.write_text(source)
        module = types.ModuleType(name)
        module.__file__ = str(path)
        exec(compile(source, str(path), "exec"), module.__dict__)
        monkeypatch.setitem(sys.modules, name, module)
        return module

    return make


def test_code_digest_of_a_module_follows_the_gradjax_modules_it_reaches(make_module):
    # "top" imports a function of "helper": editing the helper's file changes top's digest,
    # editing an unrelated module does not; a module counts whole, comments included.
    make_module("gradjax._digest_helper", "def f():\n    return 1\n")
    make_module("gradjax._digest_other", "X = 1\n")
    top = make_module("gradjax._digest_top", "from gradjax._digest_helper import f\n")
    before = code_digest([top])
    make_module("gradjax._digest_other", "X = 2\n")
    assert code_digest([top]) == before
    make_module("gradjax._digest_helper", "def f():\n    return 1\n# a comment\n")
    assert code_digest([top]) != before


HELPER = """
K = {k}

def used():
    return {used}

def unused():
    return {unused}
"""

TOP = """
import functools
import gradjax._cd_helper as helper
from gradjax._cd_helper import K, used

def piece():
    return used() + K

def by_attribute():
    return helper.used()

def measure():
    a = {a}

    def inner():
        return a

    return inner

def report():
    return "{report}"
"""


def test_code_digest_follows_functions_not_modules(make_module):
    def digests(**edits):
        values = {"k": 3, "used": 1, "unused": 2, "a": 5, "report": "r", **edits}
        make_module("gradjax._cd_helper", HELPER.format(**values))
        top = make_module("gradjax._cd_top", TOP.format(**values))
        roots = {
            "piece": [top.piece],
            "by_attribute": [top.by_attribute],
            "closure": [top.measure()],
            "jitted partial": [jax.jit(functools.partial(top.piece))],
        }
        return {name: code_digest(r) for name, r in roots.items()}

    before = digests()
    assert digests() == before
    # What no piece calls: a report, an unused helper.
    assert digests(report="edited", unused=20) == before
    # What they call: the helper (by name or as a module attribute), a constant's value.
    changed = digests(used=10)
    assert all(changed[n] != before[n] for n in ("piece", "by_attribute", "jitted partial"))
    assert changed["closure"] == before["closure"]
    assert digests(k=4)["piece"] != before["piece"]
    # A closure counts with the function that made it.
    assert digests(a=6)["closure"] != before["closure"]
    # Wrappers do not hide the function: jit of a partial digests as the function.
    assert before["jitted partial"] == before["piece"]
    with pytest.raises(TypeError, match="functions, classes or modules"):
        code_digest([3])


def test_a_perturbation_piece_is_keyed_by_what_it_calls_not_by_the_report(monkeypatch):
    from gradjax.evaluation.measurements import perturbation, perturbation_tables

    before = code_digest([perturbation_tables.correct_tables])
    monkeypatch.setattr(perturbation, "report", lambda metrics: ["edited"])
    assert code_digest([perturbation_tables.correct_tables]) == before
    monkeypatch.setattr(perturbation_tables, "correct_fn", lambda *args, **kwargs: None)
    assert code_digest([perturbation_tables.correct_tables]) != before


def test_code_digests_are_the_same_in_every_process():
    # A kept piece is found again by a later process: its digest must not depend on the
    # interpreter's string-hash seed (set iteration order), nor on anything else per process.
    script = (
        "from gradjax.evaluation.code_digest import code_digest\n"
        "from gradjax.evaluation.context import PIECE_CODE\n"
        "from gradjax.evaluation.measurements import MEASUREMENTS\n"
        "print([code_digest([m.measure, *PIECE_CODE]) for m in MEASUREMENTS.values()])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_library_versions_name_the_installed_jax_and_optax():
    versions = library_versions()
    assert versions["jax"] == jax.__version__ and versions["numpy"] == np.__version__
    assert versions["optax"] == optax.__version__
    assert versions["python"] == platform.python_version()
