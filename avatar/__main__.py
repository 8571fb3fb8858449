"""``python -m avatar``: see :mod:`avatar.cli`."""

import sys

from .cli import main

sys.exit(main())
