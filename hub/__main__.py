"""python -m hub == pos-hub."""

import sys

from hub.cli import main

sys.exit(main())
