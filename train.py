"""``python train.py``: train a classifier (see :mod:`gradjax.cli.train`)."""

import sys

from gradjax.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
