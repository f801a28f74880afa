"""Logging for the ``vodref`` command: readable lines on stderr, secrets masked.

Without a configured handler, Python prints library warnings through its last-resort
handler (a bare message with no source). :func:`configure_logging` installs one handler on
the root logger instead:

- default: warnings and errors as ``vodref: warning: MESSAGE``, no traceback;
- ``-v``: also what happens (info), with time, level and source;
- ``-vv``/``--debug``: everything, tracebacks included (the SDKs log every request then).

Every record is masked before it is written: the values of signature, key id and token
parameters and of ``Authorization`` headers, and every literal secret the run knows. The
handler writes to whatever ``sys.stderr`` is when a record arrives, so while the progress
bars are live (rich redirects stderr) a warning scrolls above them instead of tearing them.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterable

from ..redact import redact

__all__ = ["configure_logging", "redact"]


class _Formatter(logging.Formatter):
    def __init__(self, verbosity: int, secrets: Iterable[str]) -> None:
        if verbosity == 0:
            super().__init__("vodref: %(levelname_lower)s: %(message)s")
        else:
            super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self._verbosity = verbosity
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)
        record.levelname_lower = record.levelname.lower()
        if self._verbosity < 2:
            # A library's traceback tells the user nothing they can act on; -vv shows it.
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return redact(super().format(record), self._secrets).rstrip()


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler bound to ``sys.stderr`` as it is at each record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_NOISY_LIBRARIES = ("aliyunsdkcore", "oss2", "urllib3", "emulator")


def configure_logging(verbosity: int, *, secrets: Iterable[str] = ()) -> None:
    """Replace the root logger's handlers with one masked stderr handler at the level for
    ``verbosity`` (0: warnings, 1: info, 2+: debug), and route Python warnings to it."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(max(verbosity, 0), 2)]
    handler = _CurrentStderrHandler()
    handler.setFormatter(_Formatter(min(verbosity, 2), secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # The SDKs and the embedded emulator log their own view of failures vodref already
    # reports as one line (aliyunsdkcore logs every network error at ERROR, with the
    # request); below -vv only their critical records get through.
    for name in _NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.CRITICAL)
    logging.captureWarnings(True)
    if verbosity < 2:
        # Third-party deprecation notices are for their developers, not vodref's users.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
