"""``python -m gradjax.reproduce NAME``: the study command (see :mod:`gradjax.cli.reproduce`)."""

import sys

from gradjax.cli.reproduce import main

if __name__ == "__main__":
    sys.exit(main())
