"""States, triggers and the one transition table of the uploader core.

Theory of operation
===================

The core is a pure state machine (the h11 / aioquic pattern). It never performs an effect:

1. The driver feeds an **event** with ``Uploader.handle(event, now=...)``: a user call
   (``AddFile``, ``StartUpload``, ``CancelFile``...), or the **outcome** of a command the core
   issued earlier (``PartUploaded``, ``CommandFailed``, ``CommandAbandoned``...).
2. The core updates its state and returns a list of **commands**: *requests* the driver must
   perform and whose fate it must report exactly once (``UploadPart``, ``RequestAuth``...), and
   *effects* that need no answer (``SaveCheckpoint``, ``Notify*`` callbacks, ``CancelRequests``).
3. Time is only what the driver says it is. ``next_deadline()`` tells when the core next wants
   to act on its own (a retry's backoff, a proactive credential refresh, a delayed checkpoint),
   and ``handle_timer(now)`` lets it.

Two levels of state are visible and both are Enums checked against the table below:

- :class:`FileState` per file: Ready, Uploading, Success, Failure, Canceled, Stopped (JS spells
  the last one "Stoped"). While a file is Uploading, *what* it is doing (waiting for
  credentials, initiating, listing parts, sending parts, completing) is derived from its data
  (credentials known? upload id known? parts left?), not stored as a second state, so it cannot
  disagree with the data.
- :class:`UploaderState` for the queue: Init, Started, Stopped, Expired, Ended.

Every transition of either level goes through :func:`file_transition` or
:func:`uploader_transition`, which look the pair up in :data:`FILE_TRANSITIONS` /
:data:`UPLOADER_TRANSITIONS`. A pair that is not in the table raises
:class:`~vodref.core.errors.InvalidStateError` *before* anything changes. Some triggers have
more than one possible target (``START`` goes to Started, or straight to Ended when there is
nothing to upload); the table lists all of them and the core picks one. The state diagram in
``specs/uploader-states.md`` is generated from these tables (``python -m vodref.core.diagram``).

Matching outcomes: every command has an integer id, unique per core instance. Requests stay in
an in-flight table until their fate is reported. An outcome for an id that was never issued
raises ``UnknownCommandError``; for an id already settled (or an effect), ``StaleOutcomeError``;
of the wrong type for the command, ``OutcomeMismatchError``. A request for a file that has since
been stopped, canceled or deleted stays in flight until its fate is reported, so its slot still
counts against ``parallel``, and what it achieved on the server (a part, an upload id) is still
recorded or cleaned up.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .errors import InvalidStateError

__all__ = [
    "FILE_TRANSITIONS",
    "UPLOADER_TRANSITIONS",
    "FileState",
    "FileTrigger",
    "UploaderState",
    "UploaderTrigger",
    "file_transition",
    "uploader_transition",
]


class FileState(enum.Enum):
    """Per-file state. Values are the JS 1.5.x strings, except ``Stoped`` is spelled right."""

    READY = "Ready"
    UPLOADING = "Uploading"
    SUCCESS = "Success"
    FAILURE = "Failure"
    CANCELED = "Canceled"
    STOPPED = "Stopped"


class UploaderState(enum.Enum):
    """Queue state. Values follow the JS ``_state`` names; JS's ``Failure`` does not exist here
    (a failed last file ends the queue normally, see UP-DEV-004)."""

    INIT = "Init"
    STARTED = "Start"
    STOPPED = "Stop"
    EXPIRED = "Expire"
    ENDED = "End"


class FileTrigger(enum.Enum):
    """What can move a file. The first five come from user calls, the rest from the core."""

    CANCEL = "cancel_file"
    DELETE = "delete_file"
    RESUME = "resume_file"
    PAUSE = "pause_file"
    RESTART = "start_upload"  # start_upload puts Failure/Stopped files back to Ready
    STOP = "stop_upload"  # stop_upload stops every Uploading file
    PICK = "picked"  # the scheduler chose the file: credentials are requested
    SUCCEED = "succeeded"  # Complete or Put confirmed (and the CRC-64 matched)
    FAIL = "failed"  # a fatal error, or retries exhausted


class UploaderTrigger(enum.Enum):
    START = "start_upload"
    STOP = "stop_upload"
    CLEAN = "clean_list"
    TOKEN_EXPIRED = "token_expired"  # a file's credentials expired; waiting for new ones
    EXPIRY_CLEARED = "expiry_cleared"  # no file waits for expired credentials any more
    DRAIN = "drained"  # nothing Uploading and nothing Ready while running


# None as a target means "removed from the list".
FILE_TRANSITIONS: Mapping[tuple[FileState, FileTrigger], frozenset[FileState | None]] = {
    (FileState.READY, FileTrigger.PICK): frozenset({FileState.UPLOADING}),
    (FileState.READY, FileTrigger.CANCEL): frozenset({FileState.CANCELED}),
    (FileState.READY, FileTrigger.PAUSE): frozenset({FileState.STOPPED}),
    (FileState.READY, FileTrigger.DELETE): frozenset({None}),
    (FileState.UPLOADING, FileTrigger.SUCCEED): frozenset({FileState.SUCCESS}),
    (FileState.UPLOADING, FileTrigger.FAIL): frozenset({FileState.FAILURE}),
    (FileState.UPLOADING, FileTrigger.CANCEL): frozenset({FileState.CANCELED}),
    (FileState.UPLOADING, FileTrigger.PAUSE): frozenset({FileState.STOPPED}),
    (FileState.UPLOADING, FileTrigger.STOP): frozenset({FileState.STOPPED}),
    (FileState.UPLOADING, FileTrigger.DELETE): frozenset({None}),
    (FileState.SUCCESS, FileTrigger.DELETE): frozenset({None}),
    (FileState.FAILURE, FileTrigger.CANCEL): frozenset({FileState.CANCELED}),
    (FileState.FAILURE, FileTrigger.RESUME): frozenset({FileState.READY}),
    (FileState.FAILURE, FileTrigger.RESTART): frozenset({FileState.READY}),
    (FileState.FAILURE, FileTrigger.DELETE): frozenset({None}),
    (FileState.CANCELED, FileTrigger.RESUME): frozenset({FileState.READY}),
    (FileState.CANCELED, FileTrigger.DELETE): frozenset({None}),
    (FileState.STOPPED, FileTrigger.CANCEL): frozenset({FileState.CANCELED}),
    (FileState.STOPPED, FileTrigger.RESUME): frozenset({FileState.READY}),
    (FileState.STOPPED, FileTrigger.RESTART): frozenset({FileState.READY}),
    (FileState.STOPPED, FileTrigger.DELETE): frozenset({None}),
}

UPLOADER_TRANSITIONS: Mapping[tuple[UploaderState, UploaderTrigger], frozenset[UploaderState]] = {
    (UploaderState.INIT, UploaderTrigger.START): frozenset(
        {UploaderState.STARTED, UploaderState.ENDED}
    ),
    (UploaderState.INIT, UploaderTrigger.CLEAN): frozenset({UploaderState.INIT}),
    (UploaderState.STARTED, UploaderTrigger.STOP): frozenset({UploaderState.STOPPED}),
    (UploaderState.STARTED, UploaderTrigger.CLEAN): frozenset({UploaderState.STOPPED}),
    (UploaderState.STARTED, UploaderTrigger.TOKEN_EXPIRED): frozenset({UploaderState.EXPIRED}),
    (UploaderState.STARTED, UploaderTrigger.DRAIN): frozenset({UploaderState.ENDED}),
    (UploaderState.EXPIRED, UploaderTrigger.STOP): frozenset({UploaderState.STOPPED}),
    (UploaderState.EXPIRED, UploaderTrigger.CLEAN): frozenset({UploaderState.STOPPED}),
    (UploaderState.EXPIRED, UploaderTrigger.TOKEN_EXPIRED): frozenset({UploaderState.EXPIRED}),
    (UploaderState.EXPIRED, UploaderTrigger.EXPIRY_CLEARED): frozenset({UploaderState.STARTED}),
    (UploaderState.STOPPED, UploaderTrigger.START): frozenset(
        {UploaderState.STARTED, UploaderState.ENDED}
    ),
    (UploaderState.STOPPED, UploaderTrigger.CLEAN): frozenset({UploaderState.STOPPED}),
    (UploaderState.ENDED, UploaderTrigger.START): frozenset(
        {UploaderState.STARTED, UploaderState.ENDED}
    ),
    (UploaderState.ENDED, UploaderTrigger.CLEAN): frozenset({UploaderState.ENDED}),
}


def file_targets(state: FileState, trigger: FileTrigger) -> frozenset[FileState | None]:
    """The allowed targets of (state, trigger); raises InvalidStateError if there are none."""
    targets = FILE_TRANSITIONS.get((state, trigger))
    if targets is None:
        raise InvalidStateError(
            f"{trigger.value} is not allowed for a file in state {state.value}",
            state=state,
            trigger=trigger,
        )
    return targets


def file_transition(
    state: FileState, trigger: FileTrigger, target: FileState | None = None
) -> FileState | None:
    """Check (state, trigger) against the table and return the new state.

    ``target`` picks among several allowed targets; with one allowed target it may be omitted.
    """
    targets = file_targets(state, trigger)
    if target is None and len(targets) == 1:
        return next(iter(targets))
    if target not in targets:
        raise InvalidStateError(
            f"{trigger.value} cannot move a file from {state.value} to {target}",
            state=state,
            trigger=trigger,
        )
    return target


def uploader_targets(state: UploaderState, trigger: UploaderTrigger) -> frozenset[UploaderState]:
    targets = UPLOADER_TRANSITIONS.get((state, trigger))
    if targets is None:
        raise InvalidStateError(
            f"{trigger.value} is not allowed while the uploader is {state.value}",
            state=state,
            trigger=trigger,
        )
    return targets


def uploader_transition(
    state: UploaderState, trigger: UploaderTrigger, target: UploaderState | None = None
) -> UploaderState:
    targets = uploader_targets(state, trigger)
    if target is None and len(targets) == 1:
        return next(iter(targets))
    if target not in targets:
        raise InvalidStateError(
            f"{trigger.value} cannot move the uploader from {state.value} to {target}",
            state=state,
            trigger=trigger,
        )
    return target
