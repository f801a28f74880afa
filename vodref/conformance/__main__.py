"""``python -m vodref.conformance``: see :mod:`vodref.conformance.cli`."""

import sys

from .cli import main

sys.exit(main())
