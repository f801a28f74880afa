"""The ``vodref`` command line: uploads with progress bars, the demo, and the embedded
emulator (the one part of vodref that imports ``emulator``, lazily)."""

from .commands import build_parser, main, parse_size

__all__ = ["build_parser", "main", "parse_size"]
