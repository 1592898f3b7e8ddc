"""What stops or warns a training run that goes wrong: a non-finite loss (with the terms that
blew up and advice), and a loss that climbs far above where it started."""

from __future__ import annotations

import math

from gradjax.training.config import TrainConfig


class NonFiniteLossError(RuntimeError):
    """Raised when a training step produces a NaN or infinite loss."""


def describe_nonfinite(step: int, metrics: dict[str, float], config: TrainConfig) -> str:
    """The message of :class:`NonFiniteLossError`: the terms that are not finite, every logged
    value, and what to change."""
    bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
    values = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
    o = config.objective
    advice = (
        f"The curvature terms h / h_sq exploded: increase mu (now {o.mu}) or lower lam (now "
        f"{o.resolved_lam}) or the learning rate."
        if {"h", "h_sq"} & set(bad)
        else f"Lower the learning rate (now {config.optim.lr}) or lam (now {o.resolved_lam}), "
        "or set grad_clip."
    )
    return f"non-finite loss at step {step}: {', '.join(bad)} not finite ({values}). {advice}"


class LossWatch:
    """Warns once when the mean logged loss of the last ``window`` records exceeds twice, and
    by more than 1 nat, the mean of the first ``window``: a learning rate too high for the
    model diverges slowly, long before the NaN guard sees an inf."""

    def __init__(self, write, lr: float, window: int = 5):
        self.write, self.lr, self.window = write, lr, window
        self.losses: list[float] = []
        self.warned = False

    def __call__(self, step: int, loss: float) -> None:
        self.losses.append(loss)
        if self.warned or len(self.losses) < 2 * self.window:
            return
        start = sum(self.losses[: self.window]) / self.window
        now = sum(self.losses[-self.window :]) / self.window
        if now > 2 * start and now > start + 1.0:
            self.warned = True
            self.write(
                f"warning: training loss climbed from {start:.3g} to {now:.3g} by step {step}; "
                f"the learning rate ({self.lr:g}) may be too high for this model and data."
            )


__all__ = ["LossWatch", "NonFiniteLossError", "describe_nonfinite"]
