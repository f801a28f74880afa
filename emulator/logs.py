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
import re
import sys
from collections.abc import Iterable
from typing import TextIO

__all__ = ["LOG_FORMAT", "RedactingFormatter", "configure_logging", "redact"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
# Query parameters and headers whose value is secret or identifies a key, as OSS (V1, V4,
# presigned) and the RPC APIs (VOD, STS) name them.
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(OSSAccessKeyId|AccessKeyId|AccessKeySecret|SecurityToken|Signature|Credential"
    r"|x-oss-signature|x-oss-credential|x-oss-security-token|x-acs-security-token)"
    r"(\s*[=:]\s*)([^&\s\"',;]+)"
)
# Also as a quoted key, the way a headers dict is printed.
_AUTHORIZATION = re.compile(r"(?i)\b(authorization['\"]?\s*[=:]\s*['\"]?)[^\r\n\"']+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret parameter's value, Authorization value and literal secret
    replaced by ``***``."""
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_PARAMETER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


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
