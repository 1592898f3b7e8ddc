"""gradjax.evaluation.draws: verdicts over two draws of the same comparison, against verdicts
written out by hand for hand-made metrics."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gradjax.config import ObjectiveConfig, RunConfig, TrainConfig
from gradjax.evaluation import draws
from gradjax.evaluation.draws import agreement, draws_table, main, merged


def _config(objective: str, seed: int) -> dict:
    return dataclasses.asdict(
        TrainConfig(objective=ObjectiveConfig(objective), run=RunConfig(seed=seed))
    )


def _diff(value: float) -> dict:
    """An accuracy difference whose interval (±0.001) excludes 0 unless ``value`` is 0."""
    return {"value": value, "low": value - 0.001, "high": value + 0.001}


def _draw(seed: int, sm: float, gn: float, seeds: float) -> dict:
    """One draw's metrics: the baseline at ``seed`` first (the reference), score-matching and
    gradient-norm at that seed, and the baseline at the other seed as the seed partner, with
    their accuracy differences to the reference."""
    other = 1 - seed
    names = {
        f"baseline-s{seed}": ("baseline", seed),
        f"score-matching-s{seed}": ("score-matching", seed),
        f"gradient-norm-s{seed}": ("gradient-norm", seed),
        f"baseline-s{other}": ("baseline", other),
    }
    differences = dict(zip(list(names)[1:], map(_diff, (sm, gn, seeds)), strict=True))
    return {
        "runs": {n: {"config": _config(o, s)} for n, (o, s) in names.items()},
        "measurements": {"accuracy": {"difference": differences}},
    }


def test_agreement_names_the_shared_verdict_or_the_disagreement():
    within = "reproduced, within the seed-to-seed difference"
    assert agreement(["reproduced", "reproduced"]) == "reproduced in both draws"
    assert agreement(["reproduced", within]) == (
        "reproduced in both draws (1 within the seed-to-seed difference)"
    )
    assert agreement(["contradicted"] * 3) == "contradicted in all 3 draws"
    assert agreement(["reproduced", "no difference detected"]) == "draws disagree"
    assert agreement(["reproduced", None]) == "measured in 1 of 2 draws"
    # A draw without the claim is counted, not taken as agreement or disagreement.
    assert agreement(["reproduced", None, within]) == (
        "reproduced in both draws (1 within the seed-to-seed difference; 1 of 3 not measured)"
    )
    assert agreement([None, "reproduced", "contradicted"]) == (
        "draws disagree (1 of 3 not measured)"
    )
    with pytest.raises(ValueError, match="no draws"):
        agreement([])


def test_draws_table_puts_each_draws_verdict_beside_the_others():
    # Score-matching: lower accuracy in both draws, beyond the seeds' difference in the first
    # only; gradient-norm: lower in the first, higher in the second.
    first = _draw(0, sm=-0.02, gn=-0.02, seeds=-0.01)
    second = _draw(1, sm=-0.005, gn=+0.02, seeds=+0.01)
    lines = draws_table({"seed 0": first, "seed 1": second})
    assert lines[0] == (
        "| claim (paper) | seed 0: against baseline-s0 (95% CI) | "
        "seed 1: against baseline-s1 (95% CI) | over the draws |"
    )
    sm, gn = (
        next(x for x in lines if x.startswith(f"| {o}: test accuracy"))
        for o in ("score-matching", "gradient-norm")
    )
    assert sm.endswith(
        "| Δ = -2 [-2.1, -1.9] points: reproduced "
        "| Δ = -0.5 [-0.6, -0.4] points: reproduced, within the seed-to-seed difference "
        "| **reproduced in both draws (1 within the seed-to-seed difference)** |"
    )
    assert gn.endswith(
        "| Δ = -2 [-2.1, -1.9] points: reproduced | Δ = 2 [1.9, 2.1] points: contradicted "
        "| **draws disagree** |"
    )
    # A claim only one draw measured: its cell is missing and the last column says so.
    del second["measurements"]["accuracy"]["difference"]["gradient-norm-s1"]
    gn = next(x for x in draws_table({"a": first, "b": second}) if "| gradient-norm:" in x)
    assert gn.endswith("| – | **measured in 1 of 2 draws** |")


def test_draws_figure_draws_each_difference_beside_its_seed_pairs(tmp_path, monkeypatch):
    # The figure's panels from hand-made draws: one per claim, a row per draw that measured it,
    # in points as the table prints them (the differences × 100), the seed pair's beside it.
    drawn = {}
    monkeypatch.setattr(
        draws, "interval_panels", lambda path, panels, **kw: drawn.update(panels) or path
    )
    first = _draw(0, sm=-0.02, gn=-0.03, seeds=-0.01)
    second = _draw(1, sm=-0.005, gn=+0.02, seeds=+0.01)
    del second["measurements"]["accuracy"]["difference"]["gradient-norm-s1"]
    draws.draws_figure({"seed 0": first, "seed 1": second}, tmp_path / "d.png")
    (sm_title, sm), (gn_title, gn) = drawn.items()
    assert sm_title.startswith("score-matching: test accuracy") and sm_title.endswith("[points]")
    assert [label for label, _, _ in sm] == ["seed 0", "seed 1"]
    assert [label for label, _, _ in gn] == ["seed 0"]

    def close(record, value):
        return record == pytest.approx({"value": value, "low": value - 0.1, "high": value + 0.1})

    assert close(sm[0][1], -2) and close(sm[0][2], -1)
    assert close(sm[1][1], -0.5) and close(sm[1][2], 1)
    assert close(gn[0][1], -3) and close(gn[0][2], -1)


def test_interval_panels_writes_a_png_and_refuses_nothing_to_draw(tmp_path):
    from gradjax.evaluation.figures import interval_panels

    record = {"value": 1.0, "low": 0.5, "high": 1.5}
    panels = {f"claim {i}": [("a", record, None), ("b", None, record)] for i in range(4)}
    path = interval_panels(tmp_path / "p.png", panels, reference_label="ref")
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="no panels"):
        interval_panels(tmp_path / "q.png", {}, reference_label="ref")


def test_draws_table_and_cli_refuse_what_they_cannot_compare(tmp_path, capsys):
    draw = _draw(0, sm=-0.02, gn=-0.02, seeds=-0.01)
    with pytest.raises(ValueError, match="at least two draws"):
        draws_table({"only": draw})
    no_baseline = {**draw, "runs": {"x": {"config": _config("gradient-norm", 0)}}}
    with pytest.raises(ValueError, match="'b' has no baseline"):
        draws_table({"a": draw, "b": no_baseline})
    for name, metrics in (("a", draw), ("b", _draw(1, sm=-0.005, gn=0.02, seeds=0.01))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    files = [str(tmp_path / "a" / "metrics.json"), str(tmp_path / "b" / "metrics.json")]
    assert main([*files, "--figure", str(tmp_path / "draws.png")]) == 0
    assert "| a: against baseline-s0 (95% CI) | b: against" in capsys.readouterr().out
    assert (tmp_path / "draws.png").stat().st_size > 0
    same = str(tmp_path / "a" / "metrics.json")
    with pytest.raises(SystemExit):
        main([same, same])
    assert "two draws share a label" in capsys.readouterr().err


def test_a_draw_split_over_several_evaluations_reads_as_one():
    whole = _draw(0, sm=-0.02, gn=-0.02, seeds=-0.01)
    fooling = {"shift": {"original": {"accuracy": 0.8}}}
    part = {"runs": {"baseline-s0": whole["runs"]["baseline-s0"]}}
    joined = merged([whole, {**part, "measurements": {"fooling": fooling}}])
    assert joined["runs"] == whole["runs"]
    assert joined["measurements"] == {**whole["measurements"], "fooling": fooling}
    with pytest.raises(ValueError, match="'accuracy' is in two files"):
        merged([whole, whole])
    other = {"runs": {"baseline-s0": {"config": _config("baseline", 5)}}, "measurements": {}}
    with pytest.raises(ValueError, match="'baseline-s0' has different configs"):
        merged([whole, other])


def test_cli_reads_comma_joined_files_as_one_draw(tmp_path, capsys):
    def write(name, metrics):
        (tmp_path / name).write_text(json.dumps(metrics))
        return str(tmp_path / name)

    def gan_test(sm, seeds):  # GAN-test differences to the reference, as eval.py saves them
        values = zip(names, (sm, seeds), strict=True)
        return {"difference": {n: {"generated": _diff(v)} for n, v in values}}

    a = _draw(0, sm=-0.02, gn=-0.02, seeds=-0.01)
    b = _draw(1, sm=-0.005, gn=0.02, seeds=0.01)
    names = ("score-matching-s0", "baseline-s1")
    a_gan = {"runs": a["runs"], "measurements": {"gan-test": gan_test(0.1, -0.05)}}
    whole = {"x": merged([a, a_gan]), "y": b}
    assert any("GAN-test" in line for line in draws_table(whole))
    files = f"x={write('a.json', a)},{write('a_gan.json', a_gan)}"
    assert main([files, f"y={write('b.json', b)}"]) == 0
    assert capsys.readouterr().out.splitlines() == draws_table(whole)
