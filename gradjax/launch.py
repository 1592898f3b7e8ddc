"""``python -m gradjax.launch``: several local processes (see :mod:`gradjax.cli.launch`)."""

import sys

from gradjax.cli.launch import main

if __name__ == "__main__":
    sys.exit(main())
