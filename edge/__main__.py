"""``python -m edge`` is ``pos-edge``."""

import sys

from edge.cli import main

sys.exit(main())
