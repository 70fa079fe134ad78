"""``python -m letrolab`` is the ``letrolab`` command."""

import sys

from letrolab.cli import main

sys.exit(main())
