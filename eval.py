"""``python eval.py``: evaluate trained runs (see :mod:`gradjax.cli.evaluate`)."""

import sys

from gradjax.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
