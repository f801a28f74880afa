"""What a bug of vodref's own becomes (UPL-DRV-010): the local error its file fails with, and
a log line that names only the exception's type and its traceback's frames. Split out of
driver.py.

A bug of vodref's own (anything the core raises for an outcome, including an application's
credentials answer, except "already settled" and, for that answer, ``UsageError``) never
leaves a file waiting (UPL-DRV-010): the outcome's command is failed with a local error coded
``VodrefInternalError``, which ends its file in Failure through the core's own rules; if the
core refuses that too, or raises a non-``VodrefError`` for a timer or a user call, it can no
longer be trusted, and the driver itself fails every Ready or Uploading file (with
``on_upload_failed``), abandons what is queued and refuses further user calls
(``UploaderClosedError``, also for the call that met the bug). A finished file stays so.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import replace

from .core import ErrorKind, FileState, FileView, Outcome, ServiceError
from .redact import redact

__all__ = [
    "INTERNAL_ERROR_CODE",
    "internal_failure",
    "log_unexpected",
    "named_outcome",
    "unfinished_failed",
]

# The driver's logger: these lines are the driver's own account of what it contained.
log = logging.getLogger("vodref.driver")

#: The code a file fails with when vodref itself broke while handling its outcome
#: (UPL-DRV-010): a bug of ours, never the service's doing.
INTERNAL_ERROR_CODE = "VodrefInternalError"


def named_outcome(outcome: Outcome) -> str:
    return f"{type(outcome).__name__} of command {outcome.command_id}"


def internal_failure(error: BaseException, doing: str) -> ServiceError:
    """Log a bug of vodref's own and describe it as the error its file fails with. Only the
    exception's type is named, in the log and the message, and the traceback's frames: its
    text may quote anything (a credentials repr), and logs and callbacks carry no secret."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    name = type(error).__name__
    log.error("vodref internal error (%s) while %s; traceback:\n%s", name, doing, frames)
    return ServiceError(
        kind=ErrorKind.LOCAL,
        code=INTERNAL_ERROR_CODE,
        message=f"vodref internal error ({name}) while {doing}; the checkpoint is kept",
    )


def log_unexpected(logger: logging.Logger, error: BaseException, doing: str) -> str:
    """Log an exception nobody expected (an auth provider's bug, or ours) with its type, its
    message redacted, and its traceback's frames; returns the redacted message. Not
    ``logger.exception``: that formats the whole chain, and a chained requests or oss2
    error quotes the signed URL (AccessKeyId, Signature, SecurityToken)."""
    message = redact(str(error) or repr(error))
    frames = "".join(traceback.format_tb(error.__traceback__))
    name = type(error).__name__
    logger.error("%s: %s (%s); traceback:\n%s", doing, name, message, frames)
    return message


def unfinished_failed(
    files: Callable[[], tuple[FileView, ...]], failure: ServiceError
) -> dict[str, FileView]:
    """UPL-DRV-010's last resort: every Ready or Uploading file of ``files()`` as failed
    with ``failure``, by file id (a finished file stays finished). A core that cannot even
    list its files leaves nothing to name."""
    try:
        views = files()
    except Exception as error:
        log.error("the core cannot list its files (%s)", type(error).__name__)
        return {}
    return {
        view.file_id: replace(view, state=FileState.FAILURE, error=failure)
        for view in views
        if view.state in (FileState.READY, FileState.UPLOADING)
    }
