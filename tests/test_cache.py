"""The evaluation cache: kept pieces are found again by their key and only by it."""

import pickle
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gradjax.evaluation.cache import EvalCache, library_versions, params_digest, source_digest


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


def test_source_digest_follows_the_gradjax_modules_a_module_reaches(tmp_path, monkeypatch):
    # Two throwaway gradjax modules: "top" calls a function of "helper"; editing the helper's
    # file changes top's digest, editing an unrelated module does not.
    def make(name, source):
        path = tmp_path / f"{name.replace('.', '_')}.py"
        path.write_text(source)
        module = types.ModuleType(name)
        module.__file__ = str(path)
        exec(compile(source, str(path), "exec"), module.__dict__)
        monkeypatch.setitem(sys.modules, name, module)
        return module, path

    helper, helper_path = make("gradjax._digest_helper", "def f():\n    return 1\n")
    _, other_path = make("gradjax._digest_other", "X = 1\n")
    top, _ = make("gradjax._digest_top", "from gradjax._digest_helper import f\n")
    before = source_digest(top)
    other_path.write_text("X = 2\n")
    assert source_digest(top) == before
    helper_path.write_text("def f():\n    return 2\n")
    assert source_digest(top) != before


def test_library_versions_name_the_installed_jax_and_optax():
    versions = library_versions()
    assert versions["jax"] == jax.__version__ and versions["numpy"] == np.__version__
    assert versions["optax"] == optax.__version__
