"""The public face of the core: :class:`Uploader`.

See :mod:`vodref.core.states` for the theory of operation. In short::

    core = Uploader(UploaderOptions(), random=random.Random(seed).random)
    commands = core.handle(AddFile(file_id="f1", name="a.mp4", size=n, fingerprint=fp), now=t)
    commands = core.handle(StartUpload(), now=t)
    # ... perform each Request, then feed its outcome:
    commands = core.handle(PartUploaded(command_id=c.command_id, etag=e, crc64=crc), now=t)
    # ... and when nothing arrives before core.next_deadline():
    commands = core.handle_timer(now=deadline)
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from ._machine import Machine
from ._outage import ensure_probe
from ._outcomes import on_outcome
from ._records import FileRecord
from ._timers import AbortTimer
from ._validate import check_float
from .checkpoint import Checkpoint
from .commands import (
    AbortMultipart,
    AuthReason,
    Command,
    NotifyCanceled,
    NotifyEnded,
    NotifyStarted,
    Request,
    RequestAuth,
)
from .errors import (
    CheckpointError,
    DuplicateFileError,
    EmptyFileError,
    InvalidEventError,
    UnknownFileError,
    VodrefError,
)
from .events import (
    AddFile,
    CancelFile,
    CleanList,
    CommandAbandoned,
    CommandFailed,
    DeleteFile,
    Event,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    ObjectHeaded,
    ObjectPut,
    Outcome,
    PartsListed,
    PartUploaded,
    PartVerified,
    PauseFile,
    ResumeFile,
    StartUpload,
    StopUpload,
    StsTokenProvided,
    UploadAuthProvided,
)
from .options import UploaderOptions
from .planning import MAX_FILE_SIZE, MAX_PARTS, PartPlan, plan_parts
from .states import (
    FILE_EVENT_TRIGGERS,
    SWEEPS,
    UPLOADER_EVENT_TRIGGERS,
    CancelReason,
    FileState,
    FileTrigger,
    UploaderState,
    UploaderTrigger,
    file_targets,
    start_target,
    uploader_targets,
)
from .values import MediaKind
from .views import FileView

__all__ = ["Uploader"]


class Uploader:
    """The uploader as a pure state machine: events in, commands out.

    ``random`` returns floats in [0, 1) for retry jitter (pass ``random.Random(seed).random``);
    None means no jitter. The core never reads a clock: every call that depends on time takes
    ``now`` (seconds, any monotonic origin, never decreasing).

    Thread safety: none. One driver thread owns an instance (the core has no locks by design).
    """

    def __init__(
        self,
        options: UploaderOptions | None = None,
        *,
        random: Callable[[], float] | None = None,
    ) -> None:
        self._m = Machine(options if options is not None else UploaderOptions(), random)
        # User calls reach their handler through the trigger tables of vodref.core.states.
        self._file_calls: dict[FileTrigger, Callable[[FileRecord], None]] = {
            FileTrigger.CANCEL: self._cancel_file,
            FileTrigger.DELETE: self._delete_file,
            FileTrigger.RESUME: self._resume_file,
            FileTrigger.PAUSE: self._pause_file,
        }
        self._queue_calls: dict[UploaderTrigger, Callable[[], None]] = {
            UploaderTrigger.START: self._start_upload,
            UploaderTrigger.STOP: self._stop_upload,
            UploaderTrigger.CLEAN: self._clean_list,
        }
        self._dispatch: dict[type[Any], Callable[[Any], None]] = {AddFile: self._add_file}
        for user_event in FILE_EVENT_TRIGGERS:
            self._dispatch[user_event] = self._file_call
        for user_event in UPLOADER_EVENT_TRIGGERS:
            self._dispatch[user_event] = self._queue_call
        for outcome in (
            UploadAuthProvided,
            StsTokenProvided,
            ObjectPut,
            MultipartInitiated,
            PartUploaded,
            PartsListed,
            PartVerified,
            MultipartCompleted,
            MultipartAborted,
            ObjectHeaded,
            CommandFailed,
            CommandAbandoned,
        ):
            self._dispatch[outcome] = self._on_outcome

    # ------------------------------------------------------------------ driving

    def handle(self, event: Event, *, now: float) -> list[Command]:
        """Feed one event; return the commands it causes, in order.

        Raises a :class:`~vodref.core.errors.VodrefError` subclass, before changing anything,
        when the event is malformed, not allowed in the current state, or names an unknown,
        settled or mismatched command.
        """
        now = self._check_now(now)
        handler = self._dispatch.get(type(event))
        if handler is None:
            raise InvalidEventError(f"not a core event: {event!r}")
        return self._run(now, lambda: handler(event))

    def handle_timer(self, now: float) -> list[Command]:
        """Let every deadline at or before ``now`` fire (retries, refreshes, checkpoints)."""
        now = self._check_now(now)
        return self._run(now, self._fire_due)

    def next_deadline(self) -> float | None:
        """When the core next wants ``handle_timer``, or None when it waits only for events."""
        timers = self._m.timers
        while timers and not self._m.timer_live(timers[0][2]):
            # Dropping a dead timer changes nothing observable.
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    # ------------------------------------------------------------------ queries

    @property
    def state(self) -> UploaderState:
        return self._m.state

    @property
    def options(self) -> UploaderOptions:
        return self._m.options

    def files(self) -> tuple[FileView, ...]:
        """JS ``listFiles()``: snapshots of every file, in list order."""
        return tuple(rec.view() for rec in self._m.files.values())

    def file(self, file_id: str) -> FileView:
        return self._record(file_id).view()

    def checkpoint(self, file_id: str) -> Checkpoint | None:
        """JS ``getCheckpoint``: what a checkpoint of the file would hold now (None when there
        is nothing to resume: no VideoId and no upload yet, or an image)."""
        return self._record(file_id).checkpoint()

    def auth_request(self, file_id: str) -> RequestAuth | None:
        """The ``RequestAuth`` the file waits on, if any: the command a driver answers when
        the application calls set_upload_auth_and_address / resume_upload_with_auth."""
        rec = self._record(file_id)
        for command_id in (rec.auth_request, rec.refresh_request):
            if command_id is not None:
                command = self._m.flights[command_id].command
                if isinstance(command, RequestAuth):
                    return command
        return None

    def in_flight(self) -> tuple[Request, ...]:
        """Every request whose outcome is still awaited, oldest first."""
        return tuple(flight.command for flight in self._m.flights.values())

    def pending_aborts(self) -> frozenset[str]:
        """Upload ids whose AbortMultipart is in flight or waits for its retry: cleanup that
        ``next_deadline`` and outcomes still drive after every file is final (UP-CANCEL-007).
        """
        flying = {
            flight.command.upload_id
            for flight in self._m.flights.values()
            if isinstance(flight.command, AbortMultipart)
        }
        armed = {
            timer.command.upload_id
            for _, _, timer in self._m.timers
            if isinstance(timer, AbortTimer)
        }
        return frozenset(flying | armed)

    # ------------------------------------------------------------------ internals

    def _check_now(self, now: float) -> float:
        value = check_float(now, "now", InvalidEventError)
        if value < self._m.now:
            raise InvalidEventError(f"now went backwards: {value} < {self._m.now}")
        return value

    def _run(self, now: float, action: Callable[[], None]) -> list[Command]:
        m = self._m
        previous = m.now
        m.now = now
        m.out = []
        try:
            action()
        except VodrefError:
            m.now = previous
            m.out = []
            raise
        self._settle()
        out, m.out = m.out, []
        return out

    def _fire_due(self) -> None:
        m = self._m
        timers = m.timers
        while timers and timers[0][0] <= m.now:
            _, _, timer = heapq.heappop(timers)
            if m.timer_live(timer):
                m.fire(timer)

    def _on_outcome(self, event: Outcome) -> None:
        on_outcome(self._m, event)

    def _record(self, file_id: str) -> FileRecord:
        rec = self._m.files.get(file_id)
        if rec is None:
            raise UnknownFileError(f"no file {file_id!r} in the list")
        return rec

    def _settle(self) -> None:
        """After every event: leave Expired when nobody waits, start Ready files while there
        is room, and end the run when nothing is left."""
        m = self._m
        if m.state is UploaderState.EXPIRED and not m.expired:
            m.move_uploader(UploaderTrigger.EXPIRY_CLEARED)
        if m.state not in (UploaderState.STARTED, UploaderState.EXPIRED):
            return
        limit = m.options.max_concurrent_files
        while m.ready_count and len(m.active) < limit:
            rec = next(r for r in m.files.values() if r.state is FileState.READY)
            self._pick(rec)
        ensure_probe(m)
        if not m.active and not m.ready_count:
            m.move_uploader(UploaderTrigger.DRAIN)
            m.out.append(NotifyEnded(command_id=m.new_id()))

    def _pick(self, rec: FileRecord) -> None:
        m = self._m
        m.move(rec, FileTrigger.PICK)
        rec.reset_retries()
        rec.error = None
        m.out.append(NotifyStarted(command_id=m.new_id(), file=rec.view()))
        if rec.object_confirmed:  # a Complete or Put that landed while the file was stopped
            m.succeed(rec)
            return
        # JS asks for credentials on every start (onUploadstarted). A request from before a
        # stop that is still out stays the one to answer: two requests without a VideoId
        # could each create a video.
        rec.needs_auth = True
        if rec.auth_request is None:
            rec.auth_reason = AuthReason.START
            rec.pending_sts = None
        m.advance(rec)

    def _halt(self, rec: FileRecord, reason: CancelReason) -> None:
        """A file that was Uploading stopped (stop, pause, clean): keep its upload."""
        m = self._m
        rec.invalidate_timers()
        m.cancel_outstanding(rec)
        m.flush_checkpoint(rec)
        m.out.append(NotifyCanceled(command_id=m.new_id(), file=rec.view(), reason=reason))

    def _discard_upload(self, rec: FileRecord, notify: CancelReason | None) -> None:
        """Cancel and delete: abort the multipart upload and drop the checkpoint."""
        m = self._m
        view = rec.view()
        rec.invalidate_timers()
        m.cancel_outstanding(rec)
        if rec.upload_id is not None and rec.target is not None:
            # Without credentials (restored from a checkpoint, never started in this
            # process) the driver obtains the video's for the abort (UP-CANCEL-008).
            m.issue_abort(rec.file_id, rec.target, rec.credentials, rec.upload_id)
        m.delete_checkpoint(rec)
        rec.reset_upload()
        rec.object_confirmed = False
        if notify is not None:
            m.out.append(NotifyCanceled(command_id=m.new_id(), file=view, reason=notify))

    # ------------------------------------------------------------------ user calls

    def _add_file(self, event: AddFile) -> None:
        if event.file_id in self._m.files:
            raise DuplicateFileError(f"file {event.file_id!r} is already in the list")
        if event.size == 0:
            raise EmptyFileError(f"file {event.name!r} is empty (EmptyFile)")
        if event.size > MAX_FILE_SIZE:
            raise InvalidEventError(
                f"file {event.name!r} has {event.size} bytes, over the OSS limit {MAX_FILE_SIZE}"
            )
        checkpoint = event.checkpoint
        if checkpoint is None:
            options = self._m.options
            plan = plan_parts(event.size, options.part_size, options.multipart_threshold)
        else:
            plan = _plan_from_checkpoint(event, checkpoint, self._m.options.multipart_threshold)
        rec = FileRecord(event, plan)
        if checkpoint is not None:
            rec.video_id = checkpoint.video_id
            rec.target = checkpoint.target
            if checkpoint.upload_id is not None:
                rec.upload_id = checkpoint.upload_id
                rec.needs_listing = True
                rec.claim(checkpoint.parts)
                # A record naming an upload was loaded from the store as it is (the driver
                # builds only records without one): its names are durable already, so the
                # save after ListParts is no barrier and the first part waits for no fsync
                # (UP-DUR-001).
                rec.saved_names = (checkpoint.video_id, checkpoint.target, checkpoint.upload_id)
            rec.last_save = None
            stale = event.stale_upload_id
            if stale is not None and checkpoint.target is not None and stale != rec.upload_id:
                rec.stale_upload = (checkpoint.target, stale)
        self._m.add(rec)

    def _file_call(self, event: CancelFile | DeleteFile | ResumeFile | PauseFile) -> None:
        rec = self._record(event.file_id)
        self._file_calls[FILE_EVENT_TRIGGERS[type(event)]](rec)

    def _queue_call(self, event: StartUpload | StopUpload | CleanList) -> None:
        self._queue_calls[UPLOADER_EVENT_TRIGGERS[type(event)]]()

    def _delete_file(self, rec: FileRecord) -> None:
        file_targets(rec.state, FileTrigger.DELETE)
        if rec.state not in (FileState.SUCCESS, FileState.CANCELED):
            uploading = rec.state is FileState.UPLOADING
            self._discard_upload(rec, CancelReason.DELETE if uploading else None)
        self._m.move(rec, FileTrigger.DELETE)

    def _cancel_file(self, rec: FileRecord) -> None:
        file_targets(rec.state, FileTrigger.CANCEL)
        uploading = rec.state is FileState.UPLOADING
        self._m.move(rec, FileTrigger.CANCEL)
        self._discard_upload(rec, CancelReason.CANCEL if uploading else None)

    def _resume_file(self, rec: FileRecord) -> None:
        self._m.move(rec, FileTrigger.RESUME)
        rec.reset_retries()
        rec.error = None

    def _pause_file(self, rec: FileRecord) -> None:
        uploading = rec.state is FileState.UPLOADING
        self._m.move(rec, FileTrigger.PAUSE)
        if uploading:
            self._halt(rec, CancelReason.PAUSE)

    def _clean_list(self) -> None:
        m = self._m
        m.move_uploader(UploaderTrigger.CLEAN)
        trigger, states = SWEEPS[CleanList]
        for rec in list(m.files.values()):
            if rec.state is FileState.UPLOADING:
                self._halt(rec, CancelReason.CLEAN)
            if rec.state in states:
                m.move(rec, trigger)

    def _start_upload(self) -> None:
        m = self._m
        uploader_targets(m.state, UploaderTrigger.START)
        trigger, states = SWEEPS[StartUpload]
        for rec in m.files.values():
            if rec.state in states:
                m.move(rec, trigger)
                rec.reset_retries()
                rec.error = None
        target = start_target(has_ready_files=m.ready_count > 0)
        m.move_uploader(UploaderTrigger.START, target)
        if target is UploaderState.ENDED:
            m.out.append(NotifyEnded(command_id=m.new_id()))

    def _stop_upload(self) -> None:
        m = self._m
        m.move_uploader(UploaderTrigger.STOP)
        trigger, states = SWEEPS[StopUpload]
        # In the order the files started (the index), as every stop has been.
        for rec in [r for r in m.active.values() if r.state in states]:
            m.move(rec, trigger)
            self._halt(rec, CancelReason.STOP)


def _plan_from_checkpoint(event: AddFile, checkpoint: Checkpoint, threshold: int) -> PartPlan:
    """Validate a checkpoint against the file it is offered for; cut the file as it was.
    A checkpoint with an upload goes on with multipart whatever ``threshold`` says now
    (UP-PART-007): its parts are on the server."""
    if checkpoint.fingerprint != event.fingerprint or checkpoint.file_size != event.size:
        raise CheckpointError(
            f"checkpoint is for another file (fingerprint or size differs from {event.name!r})"
        )
    if checkpoint.media_kind is not event.media_kind or event.media_kind is MediaKind.IMAGE:
        raise CheckpointError("only video uploads are resumed from a checkpoint")
    if checkpoint.upload_id is not None:
        threshold = 1
    plan = plan_parts(event.size, checkpoint.part_size, threshold)
    if checkpoint.upload_id is not None and (
        not plan.multipart or plan.part_size != checkpoint.part_size
    ):
        raise CheckpointError("checkpoint part size does not fit this file")
    for part in checkpoint.parts:
        if part.number > plan.part_count or part.number > MAX_PARTS:
            raise CheckpointError(f"checkpoint part {part.number} is beyond the file's parts")
    return plan
