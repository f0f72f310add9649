"""``python -m graphrnn``: the ``graphrnn`` command line."""

import sys

from graphrnn.cli import main

sys.exit(main())
