"""The evaluation's maths as pure functions of a ``logits_fn``: density ratios, sampling by
gradient ascent, pixel perturbation and its fills, saliency fooling, randomisation checks,
infidelity and sensitivity. The measurements (:mod:`gradjax.evaluation.measurements`) run them
on trained checkpoints."""
