"""The rulebook of the uploader core: states, steps, failure reactions, triggers and timers.

Theory of operation
===================

The core is a pure state machine: events in, commands out. It never performs an effect:

1. The driver feeds an **event** with ``Uploader.handle(event, now=...)``: a user call
   (``AddFile``, ``StartUpload``, ``CancelFile``...), or the **outcome** of a command the core
   issued earlier (``PartUploaded``, ``CommandFailed``, ``CommandAbandoned``...).
2. The core updates its state and returns a list of **commands**: *requests* the driver must
   perform and whose fate it must report exactly once (``UploadPart``, ``RequestAuth``...), and
   *effects* that need no answer (``SaveCheckpoint``, ``Notify*`` callbacks, ``CancelRequests``).
3. Time is only what the driver says it is. ``next_deadline()`` tells when the core next wants
   to act on its own (a retry's backoff, a proactive credential refresh, a delayed checkpoint),
   and ``handle_timer(now)`` lets it.

Everything that decides what the machine does lives in this module, as data:

- **States** (two levels, both Enums). :class:`FileState` per file: Ready, Uploading, Success,
  Failure, Canceled, Stopped (JS spells the last one "Stoped"). :class:`UploaderState` for the
  queue: Init, Started, Stopped, Expired, Ended. Every change of either goes through
  :func:`file_transition` / :func:`uploader_transition`, which look the pair up in
  :data:`FILE_TRANSITIONS` / :data:`UPLOADER_TRANSITIONS`; a pair that is not in the table
  raises :class:`~vodref.core.errors.InvalidStateError` *before* anything changes.
- **User triggers**: :data:`FILE_EVENT_TRIGGERS` and :data:`UPLOADER_EVENT_TRIGGERS` say which
  trigger each user call pulls; :data:`SWEEPS` which files a queue-level call moves with it.
  Where a trigger has two targets, a named rule beside the table picks one
  (:func:`start_target`).
- **Steps**: while a file is Uploading, *what* it is doing (waiting for credentials,
  initiating, listing parts, sending parts, completing) is a :class:`Step` derived by
  :func:`next_step` (the first of :data:`STEP_RULES` that holds) from a frozen view of its
  data (:class:`UploadFacts`), never stored as a
  second state, so it cannot disagree with the data. After *any* outcome is recorded, the core
  asks :func:`next_step` again and issues what it says: the answer to "what happens after
  PartUploaded?" is "record the part, then :func:`next_step`".
- **Failure reactions**: a failed request is classified (:func:`~vodref.core.classify.classify`)
  and :data:`ON_FAILURE` maps ``(step, disposition)`` to a :class:`Reaction`.
- **Outages**: a failure classified UNAVAILABLE backs off (:data:`Reaction.BACK_OFF`). After
  :func:`outage_threshold` of them in a row (no OSS request succeeding in between) the
  connection is *out*: no new OSS request starts; one *probe* goes after the outage backoff,
  and the first success ends the outage. Failures during an outage count against
  ``outage_limit`` (time), not against retries (UP-OUTAGE-001).
- **Timers and retry keys**: :class:`TimerKind` names the six things the core waits for;
  retry counts are kept per :data:`RetryKey`.

The state diagrams, the steps and the failure reactions in ``specs/uploader-states.md`` are
generated from these tables (``python -m vodref.core.diagram``).

Matching outcomes: every command has an integer id, unique per core instance. Requests stay in
an in-flight table until their fate is reported. An outcome for an id that was never issued
raises ``UnknownCommandError``; for an id already settled (or an effect), ``StaleOutcomeError``;
of the wrong type for the command, ``OutcomeMismatchError``. A request for a file that has since
been stopped, canceled or deleted stays in flight until its fate is reported, so its slot still
counts against ``parallel``, and what it achieved on the server (a part, an upload id) is still
recorded or cleaned up.

Where the code is: ``uploader.py`` (the public :class:`~vodref.core.uploader.Uploader`: user
calls and queue scheduling) *has* a ``_machine.Machine`` (flights, timers, the file index,
moves, issuing requests); ``_outcomes.py`` holds one plain function per outcome, in one table.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

from .classify import Disposition
from .errors import InvalidStateError
from .events import (
    CancelFile,
    CleanList,
    DeleteFile,
    PauseFile,
    ResumeFile,
    StartUpload,
    StopUpload,
    UserEvent,
)

__all__ = [
    "FILE_EVENT_TRIGGERS",
    "FILE_TRANSITIONS",
    "ON_FAILURE",
    "STEP_RULES",
    "SWEEPS",
    "UPLOADER_EVENT_TRIGGERS",
    "UPLOADER_TRANSITIONS",
    "CancelReason",
    "FileState",
    "FileTrigger",
    "PartKey",
    "Reaction",
    "RetryKey",
    "Step",
    "StepRule",
    "TimerKind",
    "UploadFacts",
    "UploaderState",
    "UploaderTrigger",
    "file_transition",
    "next_step",
    "outage_threshold",
    "start_target",
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
    SUCCEED = "succeeded"  # Complete or Put confirmed (and the CRC-64 matched), even late
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
    # A PutObject already on the wire when the file was canceled completed: the object and
    # its video exist, so the file says so (UP-CANCEL-006).
    (FileState.CANCELED, FileTrigger.SUCCEED): frozenset({FileState.SUCCESS}),
    (FileState.CANCELED, FileTrigger.DELETE): frozenset({None}),
    (FileState.STOPPED, FileTrigger.CANCEL): frozenset({FileState.CANCELED}),
    (FileState.STOPPED, FileTrigger.RESUME): frozenset({FileState.READY}),
    (FileState.STOPPED, FileTrigger.RESTART): frozenset({FileState.READY}),
    (FileState.STOPPED, FileTrigger.DELETE): frozenset({None}),
    # A Complete or Put on the wire when the file was stopped or paused landed: the object
    # and its video exist, so the file says so (UP-CANCEL-010).
    (FileState.STOPPED, FileTrigger.SUCCEED): frozenset({FileState.SUCCESS}),
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


# ---------------------------------------------------------------------- user triggers

# The trigger each user call pulls on the file it names. The uploader applies it through
# file_transition, so a call not allowed in the file's state raises before any change.
FILE_EVENT_TRIGGERS: Mapping[type[UserEvent], FileTrigger] = {
    CancelFile: FileTrigger.CANCEL,
    DeleteFile: FileTrigger.DELETE,
    ResumeFile: FileTrigger.RESUME,
    PauseFile: FileTrigger.PAUSE,
}

# The trigger each queue-level user call pulls on the uploader.
UPLOADER_EVENT_TRIGGERS: Mapping[type[UserEvent], UploaderTrigger] = {
    StartUpload: UploaderTrigger.START,
    StopUpload: UploaderTrigger.STOP,
    CleanList: UploaderTrigger.CLEAN,
}

# What a queue-level call does to the files with it: the file trigger it pulls on every file
# in one of the listed states (start_upload puts Failure and Stopped files back to Ready,
# stop_upload stops every Uploading file, clean_list deletes every file).
SWEEPS: Mapping[type[UserEvent], tuple[FileTrigger, frozenset[FileState]]] = {
    StartUpload: (FileTrigger.RESTART, frozenset({FileState.FAILURE, FileState.STOPPED})),
    StopUpload: (FileTrigger.STOP, frozenset({FileState.UPLOADING})),
    CleanList: (FileTrigger.DELETE, frozenset(FileState)),
}


def start_target(has_ready_files: bool) -> UploaderState:
    """The one multi-target rule: START runs the queue when a file is Ready (after the sweep),
    and ends it at once when there is nothing to upload (JS fires onUploadEnd then)."""
    return UploaderState.STARTED if has_ready_files else UploaderState.ENDED


class CancelReason(str, enum.Enum):
    """Why an Uploading file stopped (``NotifyCanceled.reason``; JS ``onUploadCanceled``).

    A ``str`` so drivers and user callbacks that compare it with the plain word keep working.
    """

    CANCEL = "cancel"
    DELETE = "delete"
    STOP = "stop"
    PAUSE = "pause"
    CLEAN = "clean"

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------- upload steps


class Step(enum.Enum):
    """One step of an Uploading file; each is one kind of request."""

    AUTHORIZE = "authorize"  # RequestAuth or CallVod: credentials (and a target) for the file
    PUT = "put"  # PutObject: the whole file in one request
    INITIATE = "initiate"  # InitiateMultipart
    LIST = "list"  # ListParts: which parts a loaded checkpoint claims are on the server
    VERIFY = "verify"  # HeadObject: did a Complete whose answer was lost succeed?
    SEND_PARTS = "send_parts"  # UploadPart, up to `parallel` at a time
    COMPLETE = "complete"  # CompleteMultipart
    ABORT = "abort"  # AbortMultipart of an upload nobody uses; cleanup, never a next step
    ADOPT = "adopt"  # VerifyPart: is a listed part the file's bytes? Runs beside SEND_PARTS


class UploadFacts(NamedTuple):
    """The facts of one file record that decide its next step (``FileRecord.facts()``).

    Immutable; a named tuple rather than a dataclass because one is built after every outcome
    and the bench (bench/bench_core.py) measures that per part.
    """

    uploading: bool  # Uploading and still in the list
    needs_auth: bool  # no usable credentials (none yet, or they expired)
    auth_pending: bool  # a credentials request is out, or waits out a backoff
    op_pending: bool  # a request other than UploadPart is out, or waits out a backoff
    multipart: bool  # the plan cuts the file in parts (else one PutObject)
    has_upload_id: bool
    needs_listing: bool  # resumed from a checkpoint: its parts are not believed yet
    verify_pending: bool  # a Complete or a resume's ListParts met NoSuchUpload: look first
    parts_complete: bool  # every part acknowledged, none in flight


@dataclass(frozen=True, slots=True)
class StepRule:
    """One row of :data:`STEP_RULES`: when ``holds(facts)``, the file's next step is ``step``
    (None: it waits for an outcome or a timer)."""

    when: str
    holds: Callable[[UploadFacts], bool]
    step: Step | None


# What an Uploading file does next: the first rule that holds wins. Read top to bottom, this is
# the life of an upload (credentials, then one PUT, or initiate, list, parts, complete).
STEP_RULES: tuple[StepRule, ...] = (
    StepRule("not Uploading (or deleted)", lambda f: not f.uploading, None),
    StepRule("credentials asked, or in backoff", lambda f: f.needs_auth and f.auth_pending, None),
    StepRule("no usable credentials", lambda f: f.needs_auth, Step.AUTHORIZE),
    StepRule("a request other than a part is out, or in backoff", lambda f: f.op_pending, None),
    StepRule("small file: one request", lambda f: not f.multipart, Step.PUT),
    StepRule("no multipart upload yet", lambda f: not f.has_upload_id, Step.INITIATE),
    # Before the listing: a resume whose ListParts met NoSuchUpload looks at the object while
    # the checkpoint's parts stay claimed, so a stop meanwhile saves them (UP-RESUME-012).
    StepRule("the upload was not found", lambda f: f.verify_pending, Step.VERIFY),
    StepRule("resumed from a checkpoint, parts not checked", lambda f: f.needs_listing, Step.LIST),
    StepRule("every part acknowledged, none in flight", lambda f: f.parts_complete, Step.COMPLETE),
    StepRule("otherwise", lambda f: True, Step.SEND_PARTS),
)


def _first_rule(facts: UploadFacts) -> Step | None:
    for rule in STEP_RULES:
        if rule.holds(facts):
            return rule.step
    raise AssertionError("the last rule always holds")  # pragma: no cover


# STEP_RULES evaluated once for each of the 512 combinations of facts, so that asking after
# every part costs one lookup instead of walking the rules.
_NEXT_STEP: Mapping[UploadFacts, Step | None] = {
    facts: _first_rule(facts)
    for facts in itertools.starmap(
        UploadFacts, itertools.product((False, True), repeat=len(UploadFacts._fields))
    )
}


def next_step(facts: UploadFacts) -> Step | None:
    """The step a file takes next (the first of :data:`STEP_RULES` that holds), or None when
    it only waits. Handlers record facts and ask this; none decides on its own what comes next.
    """
    return _NEXT_STEP[facts]


# ---------------------------------------------------------------------- failure reactions


class Reaction(enum.Enum):
    """What the core does about a failed request (after :func:`~vodref.core.classify.classify`).

    A failure that no longer matters (the file left Uploading, was deleted, restarted its upload
    or already re-sent the request) is dropped before the table is consulted; a failed part of
    a file that stopped goes back to the queue.
    """

    RETRY = "retry"  # send again after the policy's backoff; out of retries, FAIL (ABORT: DROP)
    AWAIT_CREDENTIALS = "await credentials"  # NotifyTokenExpired, the queue Expires, ask again
    RESTART_UPLOAD = "restart upload"  # the upload is gone: a new one for the same VideoId
    # HeadObject: an earlier Complete may have succeeded (when its parts are known; else the
    # upload is gone: RESTART_UPLOAD)
    VERIFY_OBJECT = "verify object"
    BACK_OFF = "back off"  # the connection fails: retry; several in a row open an outage
    # (for an abort: sent again after each backoff, uncounted, until outage_limit passed)
    FAIL = "fail"  # the file moves to Failure and records the error
    DROP = "drop"  # nothing more: an abort that fails is left to the bucket's lifecycle rule
    RESEND = "resend"  # a listed part could not be checked: it is sent again instead


_RETRY = Reaction.RETRY
_AWAIT = Reaction.AWAIT_CREDENTIALS
_RESTART = Reaction.RESTART_UPLOAD
_VERIFY = Reaction.VERIFY_OBJECT
_FAIL = Reaction.FAIL
_DROP = Reaction.DROP
_BACK = Reaction.BACK_OFF
_RESEND = Reaction.RESEND

_DISPOSITIONS = (
    Disposition.RETRY,
    Disposition.UNAVAILABLE,
    Disposition.TOKEN_EXPIRED,
    Disposition.LOST_UPLOAD,
    Disposition.FATAL,
)
# AUTHORIZE retries an unavailable service on its own: credentials come from the application
# or VOD, not the OSS connection. ABORT waits for the connection to come back (BACK_OFF) for
# up to outage_limit, then gives up: an abort nobody waits for must still outlive an outage
# that the uploads around it ride out (UP-CANCEL-007).
# ADOPT is local I/O: whatever goes wrong, the part is simply sent again (UP-RESUME-009).
_FAILURE_ROWS: Mapping[Step, tuple[Reaction, Reaction, Reaction, Reaction, Reaction]] = {
    #                RETRY  UNAVAILABLE TOKEN_EXPIRED LOST_UPLOAD FATAL
    Step.AUTHORIZE: (_RETRY, _RETRY, _AWAIT, _FAIL, _FAIL),
    Step.PUT: (_RETRY, _BACK, _AWAIT, _FAIL, _FAIL),
    Step.INITIATE: (_RETRY, _BACK, _AWAIT, _FAIL, _FAIL),
    Step.LIST: (_RETRY, _BACK, _AWAIT, _VERIFY, _FAIL),
    Step.VERIFY: (_RETRY, _BACK, _AWAIT, _RESTART, _FAIL),
    Step.SEND_PARTS: (_RETRY, _BACK, _AWAIT, _RESTART, _FAIL),
    Step.COMPLETE: (_RETRY, _BACK, _AWAIT, _VERIFY, _FAIL),
    Step.ABORT: (_RETRY, _BACK, _DROP, _DROP, _DROP),
    Step.ADOPT: (_RESEND, _RESEND, _RESEND, _RESEND, _RESEND),
}

ON_FAILURE: Mapping[tuple[Step, Disposition], Reaction] = {
    (step, disposition): reaction
    for step, row in _FAILURE_ROWS.items()
    for disposition, reaction in zip(_DISPOSITIONS, row, strict=True)
}


# ---------------------------------------------------------------------- timers and retry keys


class TimerKind(enum.Enum):
    """What the core can wait for on its own (``next_deadline()``)."""

    RETRY = "retry"  # a backoff ended: the step (or part) is due again
    REFRESH = "refresh"  # credentials are within refresh_margin of expiry: ask for new ones
    FLUSH = "flush"  # a checkpoint save held back by checkpoint_interval is due
    ABORT = "abort"  # a failed AbortMultipart is due again
    CREDENTIALS = "credentials"  # credentials_timeout passed without credentials: the file fails
    PROBE = "probe"  # during an outage: one request may try the connection again


def outage_threshold(parallel: int) -> int:
    """How many UNAVAILABLE failures in a row open an outage: every slot of a file failed (at
    least two, so one unlucky request never stops the others)."""
    return max(2, parallel)


@dataclass(frozen=True, slots=True)
class PartKey:
    """The retry key of one part: each part number has its own retry count."""

    number: int


# Retry counts are kept per step (a part per PartKey), and for the two reactions that are
# themselves budgeted: RESTART_UPLOAD, and AWAIT_CREDENTIALS after a VOD call's STS token
# expired (an auth provider could otherwise loop there at once).
RetryKey: TypeAlias = Step | PartKey | Reaction
