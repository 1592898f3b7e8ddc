"""REPRODUCTION.md's tables are what the committed results give: regenerating them from
results/ changes nothing, and the generator writes every block it finds."""

from pathlib import Path

from gradjax.studies.reproduction import BLOCKS, MARKER, render

ROOT = Path(__file__).resolve().parents[1]


def test_every_table_in_reproduction_md_equals_its_results():
    text = (ROOT / "REPRODUCTION.md").read_text()
    assert render(text, ROOT / "results") == text, (
        "REPRODUCTION.md is stale: run `python -m gradjax.studies.reproduction`"
    )
    assert {m["name"] for m in MARKER.finditer(text)} == set(BLOCKS)


def test_a_block_is_rewritten_from_the_results(tmp_path):
    text = "before\n<!-- generated: studies -->\nSTALE\n<!-- end: studies -->\nafter\n"
    fresh = render(text, tmp_path)
    assert fresh.startswith("before\n<!-- generated: studies -->\n| study |")
    assert "STALE" not in fresh and fresh.endswith("<!-- end: studies -->\nafter\n")
