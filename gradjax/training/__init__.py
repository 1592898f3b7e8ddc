"""Training: the config dataclasses, datasets and image folders, the compiled data-parallel
train step, the fit loop with checkpoints and exact resume, and the run directory that records
it all (needs the ``[train]`` extra; the datasets the ``[data]`` one)."""

from gradjax.extras import require

require("train", "gradjax.training")
