"""The committed notebooks match their sources and execute from them without errors (outputs go
to tmp). Executing the estimator-variance notebook takes one and a half minutes, so it is a
``slow`` test; the match is checked for every notebook in the default run."""

import sys
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
from build_notebooks import SOURCES, build, read_cells  # noqa: E402

NAMES = sorted(p.stem for p in SOURCES.glob("*.py"))


def committed_sources(name: str) -> list[str]:
    return [c.source for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_matches_its_source(name):
    assert committed_sources(name) == [c.source for c in read_cells(SOURCES / f"{name}.py")], (
        f"notebooks/{name}.ipynb is stale: run `make notebooks` and commit it"
    )


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "estimator_variance" else n for n in NAMES],
)
def test_notebook_executes_without_errors(name, tmp_path):
    start = time.perf_counter()
    executed = nbformat.read(build(name, out_dir=tmp_path), as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert [c.source for c in executed.cells] == committed_sources(name)
    print(f"{name} executed in {time.perf_counter() - start:.0f} s")
