"""The committed notebooks execute from their sources without errors (outputs go to tmp)."""

import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
from build_notebooks import build  # noqa: E402


@pytest.mark.parametrize("name", ["estimator_variance", "reproduction"])
def test_notebook_executes_and_matches_committed_cells(name, tmp_path):
    start = time.perf_counter()
    executed = nbformat.read(build(name, out_dir=tmp_path), as_version=4)
    elapsed = time.perf_counter() - start
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    committed = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in executed.cells], (
        f"notebooks/{name}.ipynb is stale: run `make notebooks` and commit it"
    )
    print(f"{name} executed in {elapsed:.0f} s")
