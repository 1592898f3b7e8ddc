"""When loops over gradient passes unroll (gradjax.core.loops)."""

from __future__ import annotations

import jax
import pytest

from gradjax.core.loops import MAX_UNROLLED, resolve_unroll


@pytest.mark.parametrize("unroll", [False, True])
def test_an_explicit_choice_wins_at_any_length(unroll):
    assert resolve_unroll(unroll, 1) is unroll
    assert resolve_unroll(unroll, 10 * MAX_UNROLLED) is unroll


def test_the_default_unrolls_short_loops_on_cpu_only(monkeypatch):
    for backend, short in (("cpu", True), ("gpu", False), ("tpu", False)):
        monkeypatch.setattr(jax, "default_backend", lambda b=backend: b)
        assert resolve_unroll(None, 1) is short
        assert resolve_unroll(None, MAX_UNROLLED) is short
        assert resolve_unroll(None, MAX_UNROLLED + 1) is False
