"""Builds and executes the committed notebooks from the cell sources in ``notebooks/sources/``.

Each source is a Python file whose cells are separated by ``# %%`` lines (``# %% [markdown]``
for prose, written as ``#``-comments). Running this script writes ``<name>.ipynb`` beside it,
executed with outputs, so the notebooks are reviewed as plain Python and committed with figures.

    python notebooks/build_notebooks.py [name ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"


def read_cells(path: Path) -> list:
    """Splits a ``# %%``-delimited Python file into notebook cells."""
    cells, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(line.removeprefix("# ").removeprefix("#") for line in text.split("\n"))
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif kind == "code" and text:
            cells.append(nbformat.v4.new_code_cell(text))

    for line in path.read_text().split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(name: str, out_dir: Path = HERE, timeout: int = 600) -> Path:
    """Executes ``notebooks/sources/<name>.py`` as a notebook; writes ``out_dir/<name>.ipynb``.

    Raises ``nbclient.exceptions.CellExecutionError`` if any cell fails.
    """
    notebook = nbformat.v4.new_notebook(cells=read_cells(SOURCES / f"{name}.py"))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(HERE)}}).execute()
    out = Path(out_dir) / f"{name}.ipynb"
    nbformat.write(notebook, out)
    return out


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in SOURCES.glob("*.py"))
    for name in names:
        print(build(name))
