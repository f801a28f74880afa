"""How the driver describes a bug of vodref's own (UPL-DRV-010): the error a file fails with,
and log lines that name an exception or an outcome without quoting what they hold.

An exception's text may quote anything (a credentials repr), and an outcome's repr shows an
AccessKeyId; logs and callbacks carry no secret, so only types, command ids and traceback
frames are ever written.
"""

from __future__ import annotations

import logging
import traceback

from .core import ErrorKind, Outcome, ServiceError

__all__ = ["INTERNAL_ERROR_CODE", "internal_failure", "named"]

log = logging.getLogger("vodref.driver")

#: The code a file fails with when vodref itself broke while handling its outcome
#: (UPL-DRV-010): a bug of ours, never the service's doing.
INTERNAL_ERROR_CODE = "VodrefInternalError"


def named(outcome: Outcome) -> str:
    """An outcome by its type and command id, never its repr."""
    return f"{type(outcome).__name__} of command {outcome.command_id}"


def internal_failure(error: BaseException, doing: str) -> ServiceError:
    """Log a bug of vodref's own and describe it as the error its file fails with. Only the
    exception's type is named, in the log and the message, and the traceback's frames."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    name = type(error).__name__
    log.error("vodref internal error (%s) while %s; traceback:\n%s", name, doing, frames)
    return ServiceError(
        kind=ErrorKind.LOCAL,
        code=INTERNAL_ERROR_CODE,
        message=f"vodref internal error ({name}) while {doing}; the checkpoint is kept",
    )
