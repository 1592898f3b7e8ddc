"""Unpaired comparisons of runs evaluated apart: Newcombe's interval against his published
table, the mean difference against Welch's interval from raw values, and the comparison of two
hand-written metrics files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradjax.evaluation.saved_comparison import compare_saved, main, report_lines
from gradjax.evaluation.stats import (
    Z95,
    independent_mean_difference,
    independent_proportion_difference,
    mean_interval,
    to_json,
)

# Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10 (hybrid score, no
# continuity correction): (k_a, n_a, k_b, n_b) -> (low, high), four decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_independent_proportion_difference_matches_newcombe_table(counts, expected):
    d = independent_proportion_difference(*counts)
    k_a, n_a, k_b, n_b = counts
    assert d["value"] == pytest.approx(k_a / n_a - k_b / n_b, abs=1e-12)
    np.testing.assert_allclose([d["low"], d["high"]], expected, atol=5e-5)


def test_independent_proportion_difference_covers_the_truth_95_percent_of_the_time():
    # Brute force: 4,000 pairs of binomial draws near the study's accuracies.
    rng = np.random.default_rng(0)
    n, p_a, p_b = 2000, 0.85, 0.83
    k_a, k_b = rng.binomial(n, p_a, 4000), rng.binomial(n, p_b, 4000)
    covered = [
        (d := independent_proportion_difference(a, n, b, n))["low"] <= p_a - p_b <= d["high"]
        for a, b in zip(k_a, k_b, strict=True)
    ]
    assert 0.935 <= np.mean(covered) <= 0.965


def test_independent_proportion_difference_rejects_empty_samples():
    with pytest.raises(ValueError, match="at least one example"):
        independent_proportion_difference(0, 0, 3, 10)


def test_independent_mean_difference_is_welchs_interval_from_the_raw_values():
    rng = np.random.default_rng(1)
    a = rng.normal([1.0, -2.0], [1.0, 3.0], (500, 2)).T  # (2 noise levels, 500 images)
    b = rng.normal([1.2, -2.5], [2.0, 1.0], (300, 2)).T
    d = independent_mean_difference(mean_interval(a), mean_interval(b))
    half = Z95 * np.sqrt(a.var(-1, ddof=1) / 500 + b.var(-1, ddof=1) / 300)
    diff = a.mean(-1) - b.mean(-1)
    np.testing.assert_allclose(d["value"], diff, rtol=1e-12)
    np.testing.assert_allclose(d["low"], diff - half, rtol=1e-10)
    np.testing.assert_allclose(d["high"], diff + half, rtol=1e-10)
    assert d["n"] == 300
    with pytest.raises(ValueError, match="different shapes"):
        independent_mean_difference(mean_interval(a), mean_interval(b[0]))


def _metrics(run: str, correct: int, density: np.ndarray, *, seed: int = 0, sigmas=(0.0, 0.5)):
    """A metrics.json as eval.py writes it, holding accuracy and density for one run."""
    return {
        "dataset": "toy",
        "common": {"seed": seed, "num_examples": None},
        "runs": {run: {"directory": "/nowhere", "config": {}}},
        "measurements": {
            "accuracy": {"runs": {run: {"value": correct / 1000, "low": 0, "high": 1, "n": 1000}}},
            "density": {
                "sigmas": list(sigmas),
                "headline_sigma": 0.5,
                "runs": {run: mean_interval(density)},
            },
        },
    }


def test_compare_saved_differences_and_report():
    rng = np.random.default_rng(2)
    ratios_a = np.stack([np.zeros(400), rng.normal(-3.0, 1.0, 400)])  # (sigmas, images)
    ratios_b = np.stack([np.zeros(400), rng.normal(-5.0, 1.0, 400)])
    a, b = _metrics("new", 850, ratios_a), _metrics("old", 800, ratios_b)
    out = compare_saved(a, "new", b, "old")
    expected = independent_proportion_difference(850, 1000, 800, 1000)
    assert out["accuracy"]["difference"] == pytest.approx(expected)
    np.testing.assert_allclose(
        out["density"]["difference"]["value"], ratios_a.mean(-1) - ratios_b.mean(-1)
    )
    assert json.loads(json.dumps(out)) == out  # plain JSON
    table = "\n".join(report_lines(out))
    assert "| test accuracy (%) | 85.00" in table
    assert "**density ratio, σ = 0.5** (headline)" in table and "| flatter |" in table
    assert "σ = 0 " not in table  # the zero noise level is zero by construction


def _with_perturbation(metrics: dict, run: str, correct: np.ndarray, fractions=(0.0, 0.5)):
    """Adds an own-saliency pixel perturbation record: ``correct`` is (fractions, images)."""
    curve = correct.mean(-1)
    metrics["measurements"]["perturbation"] = {
        "fractions": list(fractions),
        "num_examples": correct.shape[-1],
        "own": {
            run: {
                "logit-gradient": {
                    "accuracy": curve,
                    "low": curve,
                    "high": curve,
                    "auc": mean_interval(correct.mean(0)),  # per-image area, then its mean
                }
            }
        },
    }
    return metrics


def test_compare_saved_pixel_perturbation_with_own_saliency():
    rng = np.random.default_rng(3)
    correct_a = rng.random((2, 500)) < [[0.9], [0.6]]
    correct_b = rng.random((2, 500)) < [[0.9], [0.4]]
    z = np.zeros((2, 10))
    a = _with_perturbation(_metrics("a", 1, z), "a", correct_a)
    b = _with_perturbation(_metrics("b", 1, z), "b", correct_b)
    out = compare_saved(a, "a", b, "b")["perturbation"]
    d = out["methods"]["logit-gradient"]
    for i in range(2):
        expected = independent_proportion_difference(
            correct_a[i].sum(), 500, correct_b[i].sum(), 500
        )
        assert [d["difference"][k][i] for k in ("value", "low", "high")] == pytest.approx(
            [expected[k] for k in ("value", "low", "high")]
        )
    area_a, area_b = correct_a.mean(0), correct_b.mean(0)
    half = Z95 * np.sqrt(area_a.var(ddof=1) / 500 + area_b.var(ddof=1) / 500)
    assert d["auc_difference"]["value"] == pytest.approx(area_a.mean() - area_b.mean())
    assert d["auc_difference"]["high"] - d["auc_difference"]["value"] == pytest.approx(half)
    table = "\n".join(report_lines(compare_saved(a, "a", b, "b")))
    assert "| pixel perturbation, own logit-gradient: area under accuracy |" in table
    other = _with_perturbation(_metrics("b", 1, z), "b", correct_b, fractions=(0.0, 0.7))
    with pytest.raises(ValueError, match="different fractions"):
        compare_saved(a, "a", other, "b")


def test_compare_saved_refuses_mismatched_evaluations():
    z = np.zeros((2, 10))
    with pytest.raises(ValueError, match="no run 'missing'"):
        compare_saved(_metrics("a", 1, z), "missing", _metrics("b", 1, z), "b")
    with pytest.raises(ValueError, match="different seed"):
        compare_saved(_metrics("a", 1, z), "a", _metrics("b", 1, z, seed=1), "b")
    with pytest.raises(ValueError, match="different noise levels"):
        compare_saved(_metrics("a", 1, z), "a", _metrics("b", 1, z, sigmas=(0.0, 1.0)), "b")


def test_main_writes_the_comparison(tmp_path, capsys):
    z = np.zeros((2, 10))
    (tmp_path / "a.json").write_text(json.dumps(to_json(_metrics("a", 900, z))))
    (tmp_path / "b.json").write_text(json.dumps(to_json(_metrics("b", 880, z))))
    assert main([f"{tmp_path}/a.json:a", f"{tmp_path}/b.json:b", "--out", str(tmp_path / "o")]) == 0
    assert "test accuracy" in capsys.readouterr().out
    saved = json.loads((tmp_path / "o" / "comparison.json").read_text())
    assert saved["files"] == [f"{tmp_path}/a.json", f"{tmp_path}/b.json"]
    assert (tmp_path / "o" / "comparison.md").read_text().startswith("Unpaired comparison")
    with pytest.raises(SystemExit):
        main([f"{tmp_path}/a.json", f"{tmp_path}/b.json:b"])


def test_main_tells_runs_of_the_same_name_apart_by_directory(tmp_path, capsys):
    z = np.zeros((2, 10))
    for session in ("first", "second"):
        (tmp_path / session).mkdir()
        (tmp_path / session / "metrics.json").write_text(json.dumps(to_json(_metrics("b", 9, z))))
    main([f"{tmp_path}/first/metrics.json:b", f"{tmp_path}/second/metrics.json:b"])
    assert (
        "| quantity | b (first) | b (second) | b (first) − b (second) |" in capsys.readouterr().out
    )
