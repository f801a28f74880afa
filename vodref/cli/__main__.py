"""``python -m vodref.cli``: the same as the ``vodref`` console script."""

from . import main

raise SystemExit(main())
