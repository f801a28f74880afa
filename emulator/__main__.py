"""``python -m emulator``: the same as the ``vodref-emulator`` console script."""

from __future__ import annotations

import sys

from emulator.cli import main

sys.exit(main())
