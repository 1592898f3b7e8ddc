"""The documentation's Python examples run, page by page, in the order they appear (each page
one namespace, as a reader would run it); and the site builds with warnings as errors."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [DOCS.parent / "README.md", *sorted(p for p in DOCS.glob("*.md") if not p.is_symlink())]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_pages_examples_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for code in BLOCK.findall(page.read_text()):
        exec(compile(code, str(page), "exec"), namespace)  # noqa: S102


def test_every_page_with_a_python_block_is_tested():
    assert [p.stem for p in PAGES if BLOCK.search(p.read_text())]  # some examples exist


@pytest.mark.skipif(
    shutil.which("mkdocs") is None and not Path(sys.executable).with_name("mkdocs").exists(),
    reason="mkdocs not installed",
)
def test_the_site_builds_with_warnings_as_errors(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
