"""``python -m graphae``."""

import sys

from graphae.cli import main

sys.exit(main())
