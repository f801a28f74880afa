"""The ``vodref`` command line: uploads with progress bars, the demo, resume records, and
the embedded emulator (the one part of vodref that imports ``emulator``, lazily)."""

from .commands import main
from .options import build_parser, parse_size

__all__ = ["build_parser", "main", "parse_size"]
