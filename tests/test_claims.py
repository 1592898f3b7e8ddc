"""Verdicts with the training seed as the unit, from hand-made metrics whose answers are known:
per-seed differences to the same seed's baseline, their Student-t interval, the baseline pairs'
spread, one-seed rows marked indicative."""

import dataclasses

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gradjax.evaluation.claims import Verdict, judge, outcome, run_seeds, verdict_table
from gradjax.evaluation.measurements import MEASUREMENTS
from gradjax.evaluation.measurements.accuracy import VERDICTS, quantities
from gradjax.training.config import ObjectiveConfig, RunConfig, TrainConfig


def config(objective: str, seed: int) -> dict:
    return dataclasses.asdict(
        TrainConfig(objective=ObjectiveConfig(objective), run=RunConfig(seed=seed))
    )


def evaluation(values: dict[tuple[str, int], float], reference: str) -> dict:
    """An accuracy evaluation of runs named ``<objective>-seed<k>`` with these accuracies."""
    runs = {f"{o}-seed{s}": {"config": config(o, s)} for o, s in values}
    record = {
        f"{o}-seed{s}": {"value": v, "low": v - 0.01, "high": v + 0.01}
        for (o, s), v in values.items()
    }
    difference = {
        n: {"value": r["value"] - record[reference]["value"], "low": -1.0, "high": 1.0}
        for n, r in record.items()
        if n != reference
    }
    measurement = {"reference": reference, "runs": record, "difference": difference}
    return {"runs": runs, "measurements": {"accuracy": measurement}}


SM = next(v for v in VERDICTS if v.objective == "score-matching")


def test_per_seed_differences_give_a_student_t_interval_over_seeds():
    # Three seeds, each evaluated apart (its baseline the reference), as a study's stages are.
    base = {0: 0.90, 1: 0.92, 2: 0.89}
    sm = {0: 0.85, 1: 0.86, 2: 0.86}
    evaluations = [
        evaluation({("baseline", s): base[s], ("score-matching", s): sm[s]}, f"baseline-seed{s}")
        for s in base
    ]
    (row,) = judge("accuracy", [SM], evaluations, quantities)
    diffs = np.array([sm[s] - base[s] for s in (0, 1, 2)])
    half = scipy_stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / np.sqrt(3)
    assert row.seeds == [0, 1, 2]
    np.testing.assert_allclose(row.estimate["value"], diffs.mean())
    np.testing.assert_allclose(
        [row.estimate["low"], row.estimate["high"]], [diffs.mean() - half, diffs.mean() + half]
    )
    # The yardstick: every pair of baseline seeds.
    np.testing.assert_allclose(sorted(row.baseline_pairs), sorted([0.02, 0.01, 0.03]))
    assert row.outcome == "reproduced"  # lower accuracy, as Table 1 says
    assert row.image["value"] == pytest.approx(sm[0] - base[0])  # the first seed's, vs its baseline


def test_one_seed_is_indicative_and_an_interval_covering_zero_is_no_difference():
    one = evaluation({("baseline", 0): 0.9, ("score-matching", 0): 0.8}, "baseline-seed0")
    (row,) = judge("accuracy", [SM], [one], quantities)
    assert row.outcome == "indicative (no difference detected, one seed)"  # image interval ±1
    two = [
        evaluation({("baseline", s): 0.9, ("score-matching", s): 0.9 + d}, f"baseline-seed{s}")
        for s, d in ((0, 0.01), (1, -0.01))
    ]
    (row,) = judge("accuracy", [SM], two, quantities)
    assert row.outcome == "no difference detected"
    # The other direction is "against the paper".
    higher = [
        evaluation(
            {("baseline", s): 0.9, ("score-matching", s): 0.95 + s / 100}, f"baseline-seed{s}"
        )
        for s in (0, 1, 2)
    ]
    assert judge("accuracy", [SM], higher, quantities)[0].outcome == "against the paper"


def test_a_threshold_verdict_reads_the_baselines_own_values():
    verdict = Verdict("shift-invariance", "cosine", "q", None, +1, threshold=0.99)
    assert outcome(verdict, {"low": 0.995, "high": 0.999}, None, 2) == "reproduced"
    assert outcome(verdict, {"low": 0.98, "high": 0.999}, None, 2) == "no difference detected"
    assert outcome(verdict, {"low": 0.9, "high": 0.95}, None, 2) == "against the paper"
    assert outcome(verdict, {}, None, 1) == "indicative: one seed, no interval"


def test_verdicts_name_known_claims_and_the_table_says_how_many_seeds():
    with pytest.raises(ValueError, match="unknown claim"):
        Verdict("nonsense", "x", "q", None, 1)
    with pytest.raises(ValueError, match="sign"):
        Verdict("density", "x", "q", None, 0)
    evaluations = [
        evaluation({("baseline", s): 0.9, ("score-matching", s): 0.8}, f"baseline-seed{s}")
        for s in (0, 1)
    ]
    rows = judge("accuracy", [SM], evaluations, quantities)
    line = verdict_table(rows)[2]
    assert "| 2 |" in line and "-10 [" in line and "points" in line
    # Every measurement's verdicts name a claim of the paper and a quantity it computes.
    for measurement in MEASUREMENTS.values():
        assert bool(measurement.verdicts) == (measurement.quantities is not None)


def test_a_sweep_is_judged_at_the_papers_constants():
    # Three score-matching runs of one seed: a small λ first, the paper's λ = 1e-3, μ = 1e-4 last.
    runs = {"baseline": {"config": config("baseline", 0)}}
    for name, lam, mu in [("small", 1e-5, 1e-4), ("big-mu", 1e-3, 1e-2), ("paper", 1e-3, 1e-4)]:
        objective = ObjectiveConfig("score-matching", lam, mu)
        runs[name] = {"config": dataclasses.asdict(TrainConfig(objective=objective))}
    accuracy = {"baseline": 0.9, "small": 0.9, "big-mu": 0.88, "paper": 0.8}
    record = {n: {"value": v, "low": v - 0.01, "high": v + 0.01} for n, v in accuracy.items()}
    metrics = {
        "runs": runs,
        "measurements": {"accuracy": {"reference": "baseline", "runs": record, "difference": {}}},
    }
    assert run_seeds(metrics) == {"baseline": ("baseline", 0), "paper": ("score-matching", 0)}
    (row,) = judge("accuracy", [SM], [metrics], quantities)
    assert row.estimate["value"] == pytest.approx(0.8 - 0.9)
    # Without a run at the paper's constants, the first is read.
    del runs["paper"]
    assert run_seeds(metrics) == {"baseline": ("baseline", 0), "small": ("score-matching", 0)}
