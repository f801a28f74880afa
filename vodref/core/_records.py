"""The mutable per-file record the core keeps, and the snapshots built from it.

Only the uploader modules touch a record. Which step of the upload a file is in is derived
from these fields (:meth:`FileRecord.facts` feeds :func:`~vodref.core.states.next_step`), never
stored twice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque

from .checkpoint import Checkpoint, CheckpointPart, _trusted_checkpoint, _trusted_part
from .commands import AuthReason, Request
from .events import AddFile
from .planning import PartPlan
from .states import FileState, RetryKey, Step, UploadFacts
from .values import (
    Credentials,
    MediaKind,
    ObjectTarget,
    ServiceError,
    StsToken,
    TargetOverride,
)
from .views import FileView


class FileRecord:
    __slots__ = (
        "attempt",
        "auth_deadline",
        "auth_reason",
        "auth_request",
        "auth_waiting",
        "budget_used",
        "bytes_done",
        "claimed",
        "claimed_parts",
        "credentials",
        "dirty",
        "done",
        "done_parts",
        "done_tuple",
        "error",
        "expected_crc",
        "file_id",
        "fingerprint",
        "flush_armed",
        "generation",
        "image_url",
        "in_flight_numbers",
        "last_save",
        "listed_bytes",
        "media_kind",
        "name",
        "needs_auth",
        "needs_listing",
        "next_fresh",
        "object_confirmed",
        "object_crc",
        "object_verified",
        "op_in_flight",
        "op_waiting",
        "outstanding",
        "override",
        "param_data",
        "parts_in_flight",
        "pending_sts",
        "plan",
        "refresh_request",
        "removed",
        "reported_bytes",
        "requeue",
        "retry_counts",
        "saved_names",
        "signature_retry_used",
        "size",
        "stale_upload",
        "state",
        "target",
        "to_verify",
        "upload_id",
        "verify_pending",
        "verifying",
        "video_id",
        "waiting_parts",
    )

    def __init__(self, event: AddFile, plan: PartPlan) -> None:
        self.file_id = event.file_id
        self.name = event.name
        self.size = event.size
        self.fingerprint = event.fingerprint
        self.media_kind = event.media_kind
        self.override = event.target_override or TargetOverride()
        self.param_data = event.param_data
        self.plan = plan
        self.state = FileState.READY
        self.removed = False
        self.attempt = 1
        self.generation = 0
        self.error: ServiceError | None = None
        # credentials
        self.credentials: Credentials | None = None
        self.needs_auth = True
        self.auth_reason = AuthReason.START
        self.auth_request: int | None = None
        self.auth_waiting = False
        self.auth_deadline: float | None = None  # when a wait for credentials gives up
        self.refresh_request: int | None = None
        self.pending_sts: StsToken | None = None
        self.signature_retry_used = False
        # where the bytes go
        self.video_id: str | None = None
        self.image_url: str | None = None
        self.target: ObjectTarget | None = None
        self.upload_id: str | None = None
        # An abandoned multipart upload (target, upload id) to abort once credentials come.
        self.stale_upload: tuple[ObjectTarget, str] | None = None
        self.needs_listing = False
        self.verify_pending = False
        self.object_confirmed = False
        self.object_crc: int | None = None
        self.object_verified = False
        self.expected_crc: int | None = None
        # Parts of the current upload, by number. Change them only through the methods
        # below, which keep the sorted sequences a checkpoint is built from in step: each
        # entry is built once, so a save costs one tuple copy, not a sort and a new entry per
        # part.
        self.done: dict[int, CheckpointPart] = {}
        self.done_parts: list[CheckpointPart] = []  # done's values, sorted by number
        self.done_tuple: tuple[CheckpointPart, ...] | None = ()  # None: done_parts changed
        # Parts a checkpoint says were acknowledged: only believed after ListParts agrees.
        self.claimed: dict[int, CheckpointPart] = {}
        self.claimed_parts: tuple[CheckpointPart, ...] = ()  # sorted by number
        self.bytes_done = 0
        self.reported_bytes = 0  # the highest bytes_done notified for this upload
        self.listed_bytes = 0  # bytes_done right after the resume's ListParts
        self.requeue: deque[int] = deque()
        self.next_fresh = 1
        self.in_flight_numbers: dict[int, int] = {}
        self.waiting_parts: set[int] = set()
        # Parts ListParts named, to check against the file: (number, etag, CRC-64) still to
        # check, and number -> VerifyPart command id. Either no checkpoint vouches for the
        # part (adopted if it matches, UP-RESUME-009) or the loaded checkpoint recorded it
        # (done meanwhile, dropped if it no longer matches, UP-RESUME-011).
        self.to_verify: deque[tuple[int, str, int | None]] = deque()
        self.verifying: dict[int, int] = {}
        # requests
        self.parts_in_flight = 0  # every UploadPart outstanding, any upload: bounds `parallel`
        self.op_in_flight: int | None = None
        self.op_waiting = False
        self.outstanding: set[int] = set()
        # retries
        self.retry_counts: dict[RetryKey, int] = {}
        self.budget_used = 0
        # checkpointing
        self.dirty = False
        self.last_save: float | None = None
        self.flush_armed = False
        # (video_id, target, upload_id) of the last checkpoint saved: None until one is.
        self.saved_names: tuple[str | None, ObjectTarget | None, str | None] | None = None

    @property
    def uploading(self) -> bool:
        """Uploading and still in the list. A deleted or cleaned record keeps its last state
        (late outcomes still find it through their flights) but must not act on it."""
        return self.state is FileState.UPLOADING and not self.removed

    def facts(self) -> UploadFacts:
        """The frozen view :func:`~vodref.core.states.next_step` decides on."""
        plan = self.plan
        return UploadFacts(
            uploading=self.state is FileState.UPLOADING and not self.removed,
            needs_auth=self.needs_auth,
            auth_pending=self.auth_request is not None or self.auth_waiting,
            op_pending=self.op_in_flight is not None or self.op_waiting,
            multipart=plan.multipart,
            has_upload_id=self.upload_id is not None,
            needs_listing=self.needs_listing,
            verify_pending=self.verify_pending,
            # Complete waits for every check against the file too: a part the loaded
            # checkpoint recorded counts as done while its bytes are checked (UP-RESUME-011).
            parts_complete=len(self.done) == plan.part_count
            and not self.in_flight_numbers
            and not self.verifying
            and not self.to_verify,
        )

    # ------------------------------------------------------------------ upload bookkeeping

    def reset_upload(self) -> None:
        """Forget the current multipart upload: the next step initiates a new one."""
        self.upload_id = None
        self.needs_listing = False
        self.verify_pending = False
        self.done = {}
        self.claimed = {}
        self.done_parts = []
        self.done_tuple = ()
        self.claimed_parts = ()
        self.bytes_done = 0
        self.reported_bytes = 0
        self.listed_bytes = 0
        self.requeue.clear()
        self.next_fresh = 1
        self.in_flight_numbers = {}
        self.waiting_parts.clear()
        self.to_verify.clear()
        self.verifying = {}
        self.expected_crc = None
        self.attempt += 1

    def add_done(self, number: int, etag: str, crc64: int, size: int) -> None:
        """Part ``number`` was acknowledged (again, if it was already done: the new one wins)."""
        part = _trusted_part(number, etag, crc64, size)
        parts = self.done_parts
        replaced = number in self.done  # not today (a done part is not sent again); cheap
        if not replaced and (not parts or parts[-1].number < number):
            parts.append(part)  # the usual case: parts are acknowledged roughly in order
        else:
            index = bisect_left(parts, number, key=_number)
            parts[index : index + replaced] = (part,)  # insert, or replace the old entry
        self.done[number] = part
        self.done_tuple = None

    def drop_done(self, number: int) -> None:
        """Part ``number`` no longer counts as done (its bytes changed since it was sent):
        it leaves the checkpoint and the byte count, to be sent again. Progress is not
        notified below ``reported_bytes`` meanwhile: it never goes backwards."""
        part = self.done.pop(number)
        index = bisect_left(self.done_parts, number, key=_number)
        del self.done_parts[index]
        self.done_tuple = None
        self.bytes_done -= part.size

    def done_checkpoint_parts(self) -> tuple[CheckpointPart, ...]:
        """``done`` as checkpoint entries sorted by number; rebuilt only after a change."""
        parts = self.done_tuple
        if parts is None:
            parts = self.done_tuple = tuple(self.done_parts)
        return parts

    def claim(self, parts: tuple[CheckpointPart, ...]) -> None:
        """Remember what a loaded checkpoint says was acknowledged, until ListParts answers."""
        self.claimed = {p.number: p for p in parts}
        self.claimed_parts = tuple(sorted(parts, key=_number))

    def keep_claimed(self, numbers: set[int]) -> None:
        """ListParts answered: the claimed parts in ``numbers`` are done, the others are not
        (any part acknowledged before is forgotten too)."""
        self.done = {n: p for n, p in self.claimed.items() if n in numbers}
        self.done_parts = [p for p in self.claimed_parts if p.number in numbers]
        self.done_tuple = None
        self.claimed = {}
        self.claimed_parts = ()

    def invalidate_timers(self) -> None:
        """Make every retry timer of this file stale; parts waiting in backoff go back to the
        queue so they are sent when the file runs again."""
        self.generation += 1
        self.op_waiting = False
        self.auth_waiting = False
        self.auth_deadline = None
        if self.waiting_parts:
            self.requeue.extend(sorted(self.waiting_parts))
            self.waiting_parts.clear()

    def reset_retries(self) -> None:
        self.retry_counts.clear()
        self.budget_used = 0

    # ------------------------------------------------------------------ snapshots

    def view(self) -> FileView:
        return FileView(
            file_id=self.file_id,
            name=self.name,
            size=self.size,
            fingerprint=self.fingerprint,
            media_kind=self.media_kind,
            state=self.state,
            video_id=self.video_id,
            image_url=self.image_url,
            target=self.target,
            upload_id=self.upload_id,
            part_size=self.plan.part_size,
            part_count=self.plan.part_count,
            bytes_done=self.bytes_done,
            parts_done=len(self.done),
            attempt=self.attempt,
            param_data=self.param_data,
            error=self.error,
            crc64=self.object_crc,
        )

    def checkpoint(self) -> Checkpoint | None:
        """The record as a checkpoint, or None when there is nothing worth resuming."""
        if self.media_kind is MediaKind.IMAGE:
            return None
        if self.video_id is None and self.upload_id is None:
            return None
        parts: tuple[CheckpointPart, ...] = ()
        if self.upload_id is not None:
            # Before the listing, keep what the loaded checkpoint claimed: a save now (a stop,
            # say) must not forget parts that are probably on the server.
            parts = self.claimed_parts if self.needs_listing else self.done_checkpoint_parts()
        return _trusted_checkpoint(
            file_name=self.name,
            file_size=self.size,
            fingerprint=self.fingerprint,
            media_kind=self.media_kind,
            video_id=self.video_id,
            target=self.target if self.upload_id is not None or self.target else None,
            upload_id=self.upload_id,
            part_size=self.plan.part_size,
            parts=parts,
        )


def _number(part: CheckpointPart) -> int:
    return part.number


class Flight:
    """A request awaiting its outcome: the step it serves, the file (None for an abort), the
    file's upload attempt when it was issued, and for an abort how many retries came before."""

    __slots__ = ("attempt", "command", "record", "retries", "step")

    def __init__(
        self,
        command: Request,
        record: FileRecord | None,
        attempt: int,
        step: Step,
        retries: int = 0,
    ) -> None:
        self.command = command
        self.record = record
        self.attempt = attempt
        self.step = step
        self.retries = retries
