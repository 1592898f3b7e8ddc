"""The command lines: ``train.py`` (gradjax-train), ``eval.py`` (gradjax-eval),
``python -m gradjax.reproduce`` (gradjax-reproduce) and the local multi-process launcher."""

from gradjax.extras import require

require("train", "the gradjax commands")
require("eval", "the gradjax commands")
