"""Logging for a command line: one readable line per record on stderr, secrets masked.

Without a configured handler Python prints library warnings through its last-resort
handler (a bare message, no level or source), and request lines, which the server logs
at debug level, carry signatures, AccessKeyIds and security tokens in their query strings.
:func:`configure_logging` installs one handler whose formatter masks those (by parameter
name, and every literal secret the program knows) in the whole formatted record,
traceback included; Python warnings are routed through it too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

from vodref.redact import redact

__all__ = ["LOG_FORMAT", "RedactingFormatter", "configure_logging", "redact"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        # rstrip: a captured warning's text ends in a newline of its own.
        return redact(super().format(record), self._secrets).rstrip()


def configure_logging(
    verbosity: int, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Log to ``stream`` (stderr): warnings and errors at verbosity 0, info at 1, every
    request at 2 and more. Replaces the root logger's handlers."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(max(verbosity, 0), 2)]
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
