"""The optimiser as one optax chain: SGD with momentum (the paper's, §5), L2 weight decay added
to the gradient, a learning-rate schedule picked by name from :data:`SCHEDULES`, optional
linear warm-up and global-norm clipping."""

from __future__ import annotations

from collections.abc import Callable

import optax

from gradjax.core.checks import check_choice


def _step_schedule(lr: float, decay_steps: int) -> optax.Schedule:
    """×0.1 at 50% and 75% of training."""
    return optax.piecewise_constant_schedule(
        lr, {int(decay_steps * 0.5): 0.1, int(decay_steps * 0.75): 0.1}
    )


SCHEDULES: dict[str, Callable[[float, int], optax.Schedule]] = {
    "cosine": optax.cosine_decay_schedule,
    "step": _step_schedule,
    "constant": lambda lr, decay_steps: optax.constant_schedule(lr),
}


def make_optimizer(
    *,
    lr: float,
    total_steps: int,
    schedule: str = "cosine",
    warmup_steps: int = 0,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float = 5e-4,
    grad_clip: float | None = None,
) -> optax.GradientTransformation:
    """SGD with momentum and ``schedule`` (one of :data:`SCHEDULES`) over ``total_steps``.

    Args:
      lr: peak learning rate.
      total_steps: length of the run; the schedule decays over ``total_steps − warmup_steps``.
      schedule: schedule name.
      warmup_steps: linear warm-up from 0 to ``lr``.
      momentum, nesterov: SGD's.
      weight_decay: L2 coefficient added to the gradient (before momentum).
      grad_clip: global-norm clipping threshold; ``None``: off.
    """
    check_choice(schedule, "schedule", SCHEDULES)
    main = SCHEDULES[schedule](lr, max(1, total_steps - warmup_steps))
    if warmup_steps:
        warmup = optax.linear_schedule(0.0, lr, warmup_steps)
        main = optax.join_schedules([warmup, main], [warmup_steps])
    parts = [] if grad_clip is None else [optax.clip_by_global_norm(grad_clip)]
    parts += [
        optax.add_decayed_weights(weight_decay),
        optax.sgd(main, momentum=momentum, nesterov=nesterov),
    ]
    return optax.chain(*parts)


__all__ = ["SCHEDULES", "make_optimizer"]
