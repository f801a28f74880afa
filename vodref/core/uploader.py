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

from ._outcomes import OutcomeHandling
from ._records import FileRecord
from ._validate import check_float
from .checkpoint import Checkpoint
from .commands import (
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
    PartsListed,
    PartUploaded,
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
    FileState,
    FileTrigger,
    UploaderState,
    UploaderTrigger,
    file_targets,
    uploader_targets,
)
from .values import MediaKind
from .views import FileView

__all__ = ["Uploader"]


class Uploader(OutcomeHandling):
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
        super().__init__(options if options is not None else UploaderOptions(), random)
        self._dispatch: dict[type[Any], Callable[[Any], None]] = {
            AddFile: self._add_file,
            DeleteFile: self._delete_file,
            CancelFile: self._cancel_file,
            ResumeFile: self._resume_file,
            PauseFile: self._pause_file,
            CleanList: self._clean_list,
            StartUpload: self._start_upload,
            StopUpload: self._stop_upload,
        }
        for outcome in (
            UploadAuthProvided,
            StsTokenProvided,
            ObjectPut,
            MultipartInitiated,
            PartUploaded,
            PartsListed,
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
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            # Dropping a dead timer changes nothing observable.
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    # ------------------------------------------------------------------ queries

    @property
    def state(self) -> UploaderState:
        return self._state

    @property
    def options(self) -> UploaderOptions:
        return self._options

    def files(self) -> tuple[FileView, ...]:
        """JS ``listFiles()``: snapshots of every file, in list order."""
        return tuple(rec.view() for rec in self._files.values())

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
                command = self._flights[command_id].command
                if isinstance(command, RequestAuth):
                    return command
        return None

    def in_flight(self) -> tuple[Request, ...]:
        """Every request whose outcome is still awaited, oldest first."""
        return tuple(flight.command for flight in self._flights.values())

    # ------------------------------------------------------------------ internals

    def _check_now(self, now: float) -> float:
        value = check_float(now, "now", InvalidEventError)
        if value < self._now:
            raise InvalidEventError(f"now went backwards: {value} < {self._now}")
        return value

    def _run(self, now: float, action: Callable[[], None]) -> list[Command]:
        previous = self._now
        self._now = now
        self._out = []
        try:
            action()
        except VodrefError:
            self._now = previous
            self._out = []
            raise
        self._settle()
        out, self._out = self._out, []
        return out

    def _fire_due(self) -> None:
        timers = self._timers
        while timers and timers[0][0] <= self._now:
            entry = heapq.heappop(timers)
            if self._timer_live(entry):
                self._fire(entry)

    def _record(self, file_id: str) -> FileRecord:
        rec = self._files.get(file_id)
        if rec is None:
            raise UnknownFileError(f"no file {file_id!r} in the list")
        return rec

    def _settle(self) -> None:
        """After every event: leave Expired when nobody waits, start Ready files while there
        is room, and end the run when nothing is left."""
        if self._state is UploaderState.EXPIRED and not self._expired:
            self._move_uploader(UploaderTrigger.EXPIRY_CLEARED)
        if self._state not in (UploaderState.STARTED, UploaderState.EXPIRED):
            return
        limit = self._options.max_concurrent_files
        while self._ready_count and len(self._active) < limit:
            rec = next(r for r in self._files.values() if r.state is FileState.READY)
            self._pick(rec)
        if not self._active and not self._ready_count:
            self._move_uploader(UploaderTrigger.DRAIN)
            self._out.append(NotifyEnded(command_id=self._new_id()))

    def _pick(self, rec: FileRecord) -> None:
        self._move(rec, FileTrigger.PICK)
        rec.reset_retries()
        rec.error = None
        self._out.append(NotifyStarted(command_id=self._new_id(), file=rec.view()))
        if rec.object_confirmed:  # a Complete or Put that landed while the file was stopped
            self._succeed(rec)
            return
        # JS asks for credentials on every start (onUploadstarted). A request from before a
        # stop that is still out stays the one to answer: two requests without a VideoId
        # could each create a video.
        rec.needs_auth = True
        if rec.auth_request is None:
            rec.auth_reason = AuthReason.START
            rec.pending_sts = None
        self._advance(rec)

    def _halt(self, rec: FileRecord, reason: str) -> None:
        """A file that was Uploading stopped (stop, pause, clean): keep its upload."""
        rec.invalidate_timers()
        self._cancel_outstanding(rec)
        self._flush_checkpoint(rec)
        self._out.append(NotifyCanceled(command_id=self._new_id(), file=rec.view(), reason=reason))

    def _discard_upload(self, rec: FileRecord, notify: str | None) -> None:
        """Cancel and delete: abort the multipart upload and drop the checkpoint."""
        view = rec.view()
        rec.invalidate_timers()
        self._cancel_outstanding(rec)
        if rec.upload_id is not None and rec.credentials is not None and rec.target is not None:
            self._issue_abort(rec.file_id, rec.target, rec.credentials, rec.upload_id)
        self._delete_checkpoint(rec)
        rec.reset_upload()
        rec.object_confirmed = False
        if notify is not None:
            self._out.append(NotifyCanceled(command_id=self._new_id(), file=view, reason=notify))

    # ------------------------------------------------------------------ user calls

    def _add_file(self, event: AddFile) -> None:
        if event.file_id in self._files:
            raise DuplicateFileError(f"file {event.file_id!r} is already in the list")
        if event.size == 0:
            raise EmptyFileError(f"file {event.name!r} is empty (EmptyFile)")
        if event.size > MAX_FILE_SIZE:
            raise InvalidEventError(
                f"file {event.name!r} has {event.size} bytes, over the OSS limit {MAX_FILE_SIZE}"
            )
        checkpoint = event.checkpoint
        if checkpoint is None:
            plan = plan_parts(event.size, self._options.part_size)
        else:
            plan = _plan_from_checkpoint(event, checkpoint)
        rec = FileRecord(event, plan)
        if checkpoint is not None:
            rec.video_id = checkpoint.video_id
            rec.target = checkpoint.target
            if checkpoint.upload_id is not None:
                rec.upload_id = checkpoint.upload_id
                rec.needs_listing = True
                rec.claim(checkpoint.parts)
            rec.last_save = None
        self._files[rec.file_id] = rec
        self._ready_count += 1

    def _delete_file(self, event: DeleteFile) -> None:
        rec = self._record(event.file_id)
        file_targets(rec.state, FileTrigger.DELETE)
        if rec.state not in (FileState.SUCCESS, FileState.CANCELED):
            uploading = rec.state is FileState.UPLOADING
            self._discard_upload(rec, "delete" if uploading else None)
        self._move(rec, FileTrigger.DELETE)

    def _cancel_file(self, event: CancelFile) -> None:
        rec = self._record(event.file_id)
        file_targets(rec.state, FileTrigger.CANCEL)
        uploading = rec.state is FileState.UPLOADING
        self._move(rec, FileTrigger.CANCEL)
        self._discard_upload(rec, "cancel" if uploading else None)

    def _resume_file(self, event: ResumeFile) -> None:
        rec = self._record(event.file_id)
        self._move(rec, FileTrigger.RESUME)
        rec.reset_retries()
        rec.error = None

    def _pause_file(self, event: PauseFile) -> None:
        rec = self._record(event.file_id)
        uploading = rec.state is FileState.UPLOADING
        self._move(rec, FileTrigger.PAUSE)
        if uploading:
            self._halt(rec, "pause")

    def _clean_list(self, event: CleanList) -> None:
        self._move_uploader(UploaderTrigger.CLEAN)
        for rec in list(self._files.values()):
            if rec.state is FileState.UPLOADING:
                self._halt(rec, "clean")
            self._move(rec, FileTrigger.DELETE)

    def _start_upload(self, event: StartUpload) -> None:
        uploader_targets(self._state, UploaderTrigger.START)
        for rec in self._files.values():
            if rec.state in (FileState.FAILURE, FileState.STOPPED):
                self._move(rec, FileTrigger.RESTART)
                rec.reset_retries()
                rec.error = None
        if self._ready_count:
            self._move_uploader(UploaderTrigger.START, UploaderState.STARTED)
        else:
            self._move_uploader(UploaderTrigger.START, UploaderState.ENDED)
            self._out.append(NotifyEnded(command_id=self._new_id()))

    def _stop_upload(self, event: StopUpload) -> None:
        self._move_uploader(UploaderTrigger.STOP)
        for rec in list(self._active.values()):
            self._move(rec, FileTrigger.STOP)
            self._halt(rec, "stop")


def _plan_from_checkpoint(event: AddFile, checkpoint: Checkpoint) -> PartPlan:
    """Validate a checkpoint against the file it is offered for; cut the file as it was."""
    if checkpoint.fingerprint != event.fingerprint or checkpoint.file_size != event.size:
        raise CheckpointError(
            f"checkpoint is for another file (fingerprint or size differs from {event.name!r})"
        )
    if checkpoint.media_kind is not event.media_kind or event.media_kind is MediaKind.IMAGE:
        raise CheckpointError("only video uploads are resumed from a checkpoint")
    plan = plan_parts(event.size, checkpoint.part_size)
    if checkpoint.upload_id is not None and (
        not plan.multipart or plan.part_size != checkpoint.part_size
    ):
        raise CheckpointError("checkpoint part size does not fit this file")
    for part in checkpoint.parts:
        if part.number > plan.part_count or part.number > MAX_PARTS:
            raise CheckpointError(f"checkpoint part {part.number} is beyond the file's parts")
    return plan
