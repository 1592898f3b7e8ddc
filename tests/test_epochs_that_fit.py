"""results/cifar10-resnet18/epochs_that_fit.py against a brute-force count of epochs."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "results" / "cifar10-resnet18" / "epochs_that_fit.py"
spec = importlib.util.spec_from_file_location("epochs_that_fit", SCRIPT)
epochs_that_fit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(epochs_that_fit)

RECORDS = [
    {"objective": "baseline", "ms_per_step": 5.0, "first_call_seconds": 8.0},
    {"objective": "score-matching", "ms_per_step": 26.0, "first_call_seconds": 12.0},
    {"objective": "gradient-norm", "ms_per_step": 22.0, "first_call_seconds": 6.0},
]


def brute_force(seconds, steps, margin):
    """The most epochs whose wall time (slowest first call, then every run's steps one after
    another, the baseline's twice for the classifier) stays within ``seconds``; at least 1."""
    per_epoch = steps * (5.0 + 26.0 + 22.0 + 5.0) / 1e3 * margin
    epochs = 0
    while 12.0 + (epochs + 1) * per_epoch <= seconds + 1e-9:
        epochs += 1
    return max(1, epochs)


@pytest.mark.parametrize("seconds", [5.0, 30.0, 100.0, 323.0, 1000.0])
@pytest.mark.parametrize("margin", [1.0, 1.3])
def test_epochs_match_a_brute_force_count(seconds, margin):
    got = epochs_that_fit.epochs_that_fit(RECORDS, seconds, 390, margin)
    assert got == brute_force(seconds, 390, margin)


def test_command_line_reads_step_cost_output(tmp_path, capsys):
    path = tmp_path / "step_cost.jsonl"
    path.write_text("# jax on cpu\n" + "".join(json.dumps(r) + "\n" for r in RECORDS))
    epochs_that_fit.main([str(path), "323", "--margin", "1.3"])
    expected = math.floor((323 - 12) / (390 * 58 / 1e3 * 1.3))
    assert int(capsys.readouterr().out) == expected
