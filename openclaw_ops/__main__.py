"""`python -m openclaw_ops ...` is `openclaw-ops ...`."""

import sys

from .cli import main

sys.exit(main())
