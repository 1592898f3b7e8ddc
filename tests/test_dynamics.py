"""The dynamics summary from hand-made per-epoch metrics: the measures per objective, epoch and
seed, and the decay verdicts (the baseline late minus early, per seed, a t interval)."""

import dataclasses
import json

import numpy as np
from scipy import stats as scipy_stats

from gradjax.studies.builders import objective_runs, paper_objectives, with_run
from gradjax.studies.dynamics import EARLY, collect, dynamics_summary
from gradjax.studies.mnist import MNIST
from gradjax.studies.spec import Stage, Study

OBJECTIVES = {k: v for k, v in paper_objectives().items() if k in ("baseline", "score-matching")}
RUNS = objective_runs(with_run(MNIST, epochs=30), OBJECTIVES, [0, 1, 2])


def metrics(epoch: int, seed: int, names: tuple[str, ...]) -> dict:
    """accuracy and density at σ = 0.5 whose values encode (objective, epoch, seed)."""

    def ratio(name):  # the baseline's ratio rises with the epoch; score-matching's is lower
        return (0.1 * epoch + 0.01 * seed) - (2.0 if name.startswith("score") else 0.0)

    def record(v):
        return {"value": [0.0, v], "low": [0.0, v - 1], "high": [0.0, v + 1]}

    runs = {n: {"config": dataclasses.asdict(RUNS[n].resolved())} for n in names}
    density = {
        "sigmas": [0.0, 0.5],
        "headline_sigma": 0.5,
        "reference": names[0],
        "runs": {n: {**record(ratio(n)), "log_mean_ratio": record(ratio(n) + 1)} for n in names},
        "difference": {},
    }
    accuracy = {
        "reference": names[0],
        "runs": {n: {"value": 0.5 + epoch / 100, "low": 0.0, "high": 1.0} for n in names},
        "difference": {},
    }
    return {"runs": runs, "measurements": {"accuracy": accuracy, "density": density}}


def test_decay_rows_are_late_minus_early_per_seed_with_a_t_interval(tmp_path):
    stages = []
    for seed in (0, 1, 2):
        for epoch in (1, EARLY, 30):
            names = (
                tuple(f"{o}-seed{seed}" for o in OBJECTIVES)
                if epoch <= EARLY
                else (f"baseline-seed{seed}",)
            )
            stage = Stage(f"seed{seed}-epoch{epoch:03d}", names, ("accuracy",), epoch=epoch)
            stages.append(stage)
            (tmp_path / stage.name).mkdir()
            (tmp_path / stage.name / "metrics.json").write_text(
                json.dumps(metrics(epoch, seed, names))
            )
    study = Study("d", "q", RUNS, tuple(stages), claims=("alignment-decay",), summary="dynamics")
    values = collect(study, tmp_path)
    assert values["log_mean_ratio"]["baseline"][30][2] == 0.1 * 30 + 0.02 + 1
    assert set(values["log_mean_ratio"]["score-matching"]) == {1, EARLY}
    rows = {r.verdict.wording: r for r in dynamics_summary(study, tmp_path)}
    decay = next(r for w, r in rows.items() if w.startswith("baseline: density ratio (the paper"))
    assert decay.verdict.wording.endswith(f"at epoch 30 than at epoch {EARLY}")
    np.testing.assert_allclose(decay.estimate["per_seed"], [0.1 * (30 - EARLY)] * 3)
    assert decay.seeds == [0, 1, 2] and decay.outcome == "reproduced"
    held = next(r for w, r in rows.items() if w.startswith("score-matching: density ratio steeper"))
    np.testing.assert_allclose(held.estimate["per_seed"], [-2.0] * 3)
    assert held.outcome == "reproduced"
    # Yardsticks: the baseline seeds' changes are equal; their levels at epoch 10 differ by
    # 0.01 per seed.
    np.testing.assert_allclose(decay.baseline_pairs, [0.0] * 3, atol=1e-12)
    np.testing.assert_allclose(sorted(held.baseline_pairs), [0.01, 0.01, 0.02], atol=1e-12)
    text = (tmp_path / "summary.md").read_text()
    assert "| baseline |" in text and "(3)" in text
    assert (tmp_path / "dynamics_log_mean_ratio.png").stat().st_size > 1000
    # Differences that vary by seed: the interval is Student's t over them.
    varied = [0.1, 0.4, -0.2]
    from gradjax.evaluation.stats import seed_interval

    got = seed_interval(varied)
    low, high = scipy_stats.t.interval(0.95, 2, loc=np.mean(varied), scale=scipy_stats.sem(varied))
    np.testing.assert_allclose([got["low"], got["high"]], [low, high])
