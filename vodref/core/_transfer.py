"""The machinery under :class:`~vodref.core.uploader.Uploader`: command ids, the in-flight
table, timers, and what each outcome does to a file.

Kept apart from ``uploader.py`` (user calls, queue scheduling, queries) only to keep both
modules readable; nothing outside the core imports it.

The central idea is ``_advance(record)``: after anything changes a file, it derives the next
step from the record's data (credentials missing? no upload id? parts left?) and issues the
requests that step needs. Handlers therefore only record facts and call ``_advance``; no
handler decides "what comes next" on its own.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

from ._records import FileRecord
from .classify import Disposition, classify
from .commands import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelRequests,
    Command,
    CompleteMultipart,
    DeleteCheckpoint,
    HeadObject,
    InitiateMultipart,
    ListParts,
    NotifyFailed,
    NotifyProgress,
    NotifySucceeded,
    NotifyTokenExpired,
    PutObject,
    Request,
    RequestAuth,
    SaveCheckpoint,
    UploadPart,
    VodAction,
)
from .crc64 import crc64_combine_all
from .errors import (
    AuthMismatchError,
    InvalidEventError,
    OutcomeMismatchError,
    StaleOutcomeError,
    UnknownCommandError,
)
from .events import (
    CommandAbandoned,
    CommandFailed,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    ObjectHeaded,
    ObjectPut,
    Outcome,
    PartsListed,
    PartUploaded,
    StsTokenProvided,
    UploadAuthProvided,
)
from .options import UploaderOptions
from .states import (
    FileState,
    FileTrigger,
    UploaderState,
    UploaderTrigger,
    file_transition,
    uploader_transition,
)
from .values import Credentials, ErrorKind, MediaKind, ObjectTarget, ServiceError

_RETRY = 0
_REFRESH = 1
_FLUSH = 2
_ABORT = 3

# The success outcome each request expects (UploadAuthProvided also answers RequestAuth).
_SUCCESS: dict[type[Request], tuple[type[Outcome], ...]] = {
    RequestAuth: (UploadAuthProvided, StsTokenProvided),
    CallVod: (UploadAuthProvided,),
    PutObject: (ObjectPut,),
    InitiateMultipart: (MultipartInitiated,),
    UploadPart: (PartUploaded,),
    ListParts: (PartsListed,),
    CompleteMultipart: (MultipartCompleted,),
    AbortMultipart: (MultipartAborted,),
    HeadObject: (ObjectHeaded,),
}


class _Flight:
    """A request awaiting its outcome. ``op`` is its retry key (a part number or a step
    name); for aborts it is the number of retries so far."""

    __slots__ = ("attempt", "command", "op", "record")

    def __init__(
        self, command: Request, record: FileRecord | None, attempt: int, op: int | str
    ) -> None:
        self.command = command
        self.record = record
        self.attempt = attempt
        self.op = op


def _norm_etag(etag: str) -> str:
    # OSS quotes ETags in XML and headers; drivers may or may not strip the quotes.
    return etag.strip('"').upper()


class TransferEngine:
    def __init__(self, options: UploaderOptions, random: Callable[[], float] | None) -> None:
        self._options = options
        self._policy = options.retry
        self._random = random
        self._now = -math.inf
        self._next_id = 1
        self._out: list[Command] = []
        self._flights: dict[int, _Flight] = {}
        self._timers: list[tuple[float, int, int, FileRecord | None, int, Any]] = []
        self._timer_seq = 0
        self._files: dict[str, FileRecord] = {}
        self._active: dict[str, FileRecord] = {}
        self._expired: set[str] = set()
        self._ready_count = 0
        self._state = UploaderState.INIT

    # ------------------------------------------------------------------ small helpers

    def _new_id(self) -> int:
        command_id = self._next_id
        self._next_id += 1
        return command_id

    def _unit_random(self) -> float:
        if self._random is None:
            return 0.0
        value = self._random()
        # An injected source that misbehaves must not break the state machine mid-update.
        if not isinstance(value, float) or not 0.0 <= value < 1.0:
            return 0.0
        return value

    def _move(self, rec: FileRecord, trigger: FileTrigger) -> None:
        """The only place a file's state changes (through the table)."""
        new = file_transition(rec.state, trigger)
        old = rec.state
        if old is FileState.READY:
            self._ready_count -= 1
        elif old is FileState.UPLOADING:
            del self._active[rec.file_id]
            self._expired.discard(rec.file_id)
        if new is None:
            del self._files[rec.file_id]
            rec.removed = True
            rec.invalidate_timers()
            return
        rec.state = new
        if new is FileState.READY:
            self._ready_count += 1
        elif new is FileState.UPLOADING:
            self._active[rec.file_id] = rec

    def _move_uploader(self, trigger: UploaderTrigger, target: UploaderState | None = None) -> None:
        self._state = uploader_transition(self._state, trigger, target)

    def _request(self, rec: FileRecord | None, command: Request, op: int | str) -> None:
        attempt = 0
        if rec is not None:
            attempt = rec.attempt
            rec.outstanding.add(command.command_id)
        self._flights[command.command_id] = _Flight(command, rec, attempt, op)
        self._out.append(command)

    def _release(self, flight: _Flight) -> None:
        command = flight.command
        command_id = command.command_id
        del self._flights[command_id]
        rec = flight.record
        if rec is None:
            return
        rec.outstanding.discard(command_id)
        if type(command) is UploadPart:
            rec.parts_in_flight -= 1
            if rec.in_flight_numbers.get(command.part_number) == command_id:
                del rec.in_flight_numbers[command.part_number]
        elif rec.op_in_flight == command_id:
            rec.op_in_flight = None
        if rec.auth_request == command_id:
            rec.auth_request = None
        if rec.refresh_request == command_id:
            rec.refresh_request = None

    def _cancel_outstanding(self, rec: FileRecord) -> None:
        if rec.outstanding:
            self._out.append(
                CancelRequests(
                    command_id=self._new_id(), command_ids=tuple(sorted(rec.outstanding))
                )
            )

    def _is_current_op(self, flight: _Flight, rec: FileRecord) -> bool:
        return (
            not rec.removed
            and rec.op_in_flight == flight.command.command_id
            and flight.attempt == rec.attempt
        )

    # ------------------------------------------------------------------ timers

    def _arm(self, when: float, kind: int, rec: FileRecord | None, arg: object) -> None:
        generation = rec.generation if rec is not None else 0
        heapq.heappush(self._timers, (when, self._timer_seq, kind, rec, generation, arg))
        self._timer_seq += 1

    def _timer_live(self, entry: tuple[float, int, int, FileRecord | None, int, Any]) -> bool:
        _, _, kind, rec, generation, arg = entry
        if kind == _ABORT or rec is None:
            return True
        if rec.removed:
            return False
        if kind == _RETRY:
            return generation == rec.generation and rec.state is FileState.UPLOADING
        if kind == _REFRESH:
            return rec.state is FileState.UPLOADING and rec.credentials is arg
        return rec.dirty  # _FLUSH

    def _fire(self, entry: tuple[float, int, int, FileRecord | None, int, Any]) -> None:
        _, _, kind, rec, _, arg = entry
        if kind == _ABORT:
            command, retries = arg
            self._issue_abort(
                command.file_id, command.target, command.credentials, command.upload_id, retries
            )
            return
        assert rec is not None
        if kind == _RETRY:
            if isinstance(arg, int):
                rec.waiting_parts.discard(arg)
                rec.requeue.appendleft(arg)
            elif arg == "auth":
                rec.auth_waiting = False
            else:
                rec.op_waiting = False
            self._advance(rec)
        elif kind == _REFRESH:
            if rec.refresh_request is None and not rec.needs_auth:
                command = self._auth_command(rec, AuthReason.REFRESH)
                rec.refresh_request = command.command_id
                self._request(rec, command, "refresh")
        else:
            rec.flush_armed = False
            if rec.state not in (FileState.SUCCESS, FileState.CANCELED):
                self._save_checkpoint(rec, force=True)

    def _arm_refresh(self, rec: FileRecord) -> None:
        credentials = rec.credentials
        margin = self._options.refresh_margin
        if credentials is None or credentials.expires_at is None or margin is None:
            return
        when = credentials.expires_at - margin
        # Already inside the margin: refreshing now would ask again at once after every
        # answer; the reactive path handles expiry instead.
        if when > self._now:
            self._arm(when, _REFRESH, rec, credentials)

    # ------------------------------------------------------------------ checkpoints

    def _save_checkpoint(self, rec: FileRecord, *, force: bool) -> None:
        if rec.removed or rec.media_kind is MediaKind.IMAGE:
            return
        if rec.video_id is None and rec.upload_id is None:
            return
        interval = self._options.checkpoint_interval
        if not force and rec.last_save is not None and self._now - rec.last_save < interval:
            rec.dirty = True
            if not rec.flush_armed:
                rec.flush_armed = True
                self._arm(rec.last_save + interval, _FLUSH, rec, None)
            return
        checkpoint = rec.checkpoint()
        assert checkpoint is not None
        self._out.append(
            SaveCheckpoint(
                command_id=self._new_id(),
                file_id=rec.file_id,
                key=checkpoint.key,
                checkpoint=checkpoint,
            )
        )
        rec.last_save = self._now
        rec.dirty = False

    def _flush_checkpoint(self, rec: FileRecord) -> None:
        if rec.dirty:
            self._save_checkpoint(rec, force=True)

    def _delete_checkpoint(self, rec: FileRecord) -> None:
        rec.dirty = False
        if rec.media_kind is MediaKind.VIDEO:
            self._out.append(
                DeleteCheckpoint(
                    command_id=self._new_id(), file_id=rec.file_id, key=rec.fingerprint
                )
            )

    # ------------------------------------------------------------------ issuing requests

    def _auth_command(self, rec: FileRecord, reason: AuthReason) -> RequestAuth | CallVod:
        if rec.pending_sts is None:
            return RequestAuth(
                command_id=self._new_id(),
                file_id=rec.file_id,
                reason=reason,
                media_kind=rec.media_kind,
                video_id=rec.video_id,
                file_name=rec.name,
                file_size=rec.size,
            )
        if rec.media_kind is MediaKind.IMAGE:
            action = VodAction.CREATE_UPLOAD_IMAGE
        elif rec.video_id is not None:
            action = VodAction.REFRESH_UPLOAD_VIDEO
        else:
            action = VodAction.CREATE_UPLOAD_VIDEO
        return CallVod(
            command_id=self._new_id(),
            file_id=rec.file_id,
            action=action,
            reason=reason,
            token=rec.pending_sts,
            media_kind=rec.media_kind,
            video_id=rec.video_id if action is VodAction.REFRESH_UPLOAD_VIDEO else None,
            file_name=rec.name,
            file_size=rec.size,
        )

    def _issue_abort(
        self,
        file_id: str,
        target: ObjectTarget,
        credentials: Credentials,
        upload_id: str,
        retries: int = 0,
    ) -> None:
        command = AbortMultipart(
            command_id=self._new_id(),
            file_id=file_id,
            target=target,
            credentials=credentials,
            upload_id=upload_id,
        )
        self._request(None, command, retries)

    def _advance(self, rec: FileRecord) -> None:
        """Issue whatever the file's data says comes next. O(1) when nothing is due."""
        if rec.state is not FileState.UPLOADING:
            return
        if rec.needs_auth:
            if rec.auth_request is None and not rec.auth_waiting:
                command = self._auth_command(rec, rec.auth_reason)
                rec.auth_request = command.command_id
                self._request(rec, command, "auth")
            return
        if rec.op_in_flight is not None or rec.op_waiting:
            return
        target = rec.target
        credentials = rec.credentials
        assert target is not None and credentials is not None
        plan = rec.plan
        base: dict[str, Any] = {
            "file_id": rec.file_id,
            "target": target,
            "credentials": credentials,
        }
        step: Request
        if not plan.multipart:
            step = PutObject(command_id=self._new_id(), size=rec.size, **base)
            op = "put"
        elif rec.upload_id is None:
            step = InitiateMultipart(command_id=self._new_id(), **base)
            op = "initiate"
        elif rec.needs_listing:
            step = ListParts(command_id=self._new_id(), upload_id=rec.upload_id, **base)
            op = "list"
        elif rec.verify_pending:
            step = HeadObject(command_id=self._new_id(), **base)
            op = "head"
        else:
            self._send_parts(rec, target, credentials, rec.upload_id)
            if len(rec.done) != plan.part_count or rec.in_flight_numbers:
                return
            done = rec.done
            pieces = [(done[n][1], done[n][2]) for n in range(1, plan.part_count + 1)]
            rec.expected_crc = crc64_combine_all(pieces)
            step = CompleteMultipart(
                command_id=self._new_id(),
                upload_id=rec.upload_id,
                parts=tuple((n, done[n][0]) for n in range(1, plan.part_count + 1)),
                expected_crc64=rec.expected_crc,
                **base,
            )
            op = "complete"
        rec.op_in_flight = step.command_id
        self._request(rec, step, op)

    def _send_parts(
        self, rec: FileRecord, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        parallel = self._options.parallel
        plan = rec.plan
        count = plan.part_count
        requeue = rec.requeue
        done = rec.done
        in_flight = rec.in_flight_numbers
        while rec.parts_in_flight < parallel:
            if requeue:
                number = requeue.popleft()
            elif rec.next_fresh <= count:
                number = rec.next_fresh
                rec.next_fresh += 1
            else:
                return
            if number in done or number in in_flight or number in rec.waiting_parts:
                continue
            offset, length = plan.part_range(number)
            command = UploadPart(
                command_id=self._new_id(),
                file_id=rec.file_id,
                target=target,
                credentials=credentials,
                upload_id=upload_id,
                part_number=number,
                offset=offset,
                length=length,
            )
            in_flight[number] = command.command_id
            rec.parts_in_flight += 1
            self._request(rec, command, number)

    # ------------------------------------------------------------------ file endings

    def _progress(self, rec: FileRecord) -> None:
        self._out.append(
            NotifyProgress(
                command_id=self._new_id(),
                file_id=rec.file_id,
                attempt=rec.attempt,
                bytes_done=rec.bytes_done,
                total_bytes=rec.size,
                parts_done=len(rec.done),
                part_count=rec.plan.part_count,
            )
        )

    def _succeed(self, rec: FileRecord) -> None:
        self._move(rec, FileTrigger.SUCCEED)
        rec.error = None
        rec.invalidate_timers()
        self._cancel_outstanding(rec)
        self._delete_checkpoint(rec)
        self._out.append(
            NotifySucceeded(
                command_id=self._new_id(), file=rec.view(), verified=rec.object_verified
            )
        )

    def _fail(self, rec: FileRecord, error: ServiceError) -> None:
        self._move(rec, FileTrigger.FAIL)
        rec.error = error
        rec.invalidate_timers()
        self._cancel_outstanding(rec)
        self._save_checkpoint(rec, force=True)
        self._out.append(NotifyFailed(command_id=self._new_id(), file=rec.view(), error=error))

    def _retry(self, rec: FileRecord, op: int | str, error: ServiceError) -> None:
        retry_number = rec.retry_counts.get(op, 0) + 1
        if not self._policy.allows(retry_number, rec.budget_used):
            self._fail(rec, error)
            return
        rec.retry_counts[op] = retry_number
        rec.budget_used += 1
        delay = self._policy.delay(retry_number, self._unit_random())
        if isinstance(op, int):
            rec.waiting_parts.add(op)
        elif op == "auth":
            rec.auth_waiting = True
        else:
            rec.op_waiting = True
        self._arm(self._now + delay, _RETRY, rec, op)

    def _restart(self, rec: FileRecord, error: ServiceError) -> None:
        """The multipart upload is gone: start a new one for the same VideoId."""
        retry_number = rec.retry_counts.get("restart", 0) + 1
        if not self._policy.allows(retry_number, rec.budget_used):
            self._fail(rec, error)
            return
        rec.retry_counts["restart"] = retry_number
        rec.budget_used += 1
        rec.invalidate_timers()
        rec.reset_upload()
        self._save_checkpoint(rec, force=True)
        self._advance(rec)

    def _enter_expired(self, rec: FileRecord, error: ServiceError) -> None:
        rec.needs_auth = True
        rec.auth_reason = AuthReason.EXPIRED
        rec.pending_sts = None
        self._flush_checkpoint(rec)
        self._out.append(
            NotifyTokenExpired(command_id=self._new_id(), file=rec.view(), error=error)
        )
        self._expired.add(rec.file_id)
        self._move_uploader(UploaderTrigger.TOKEN_EXPIRED)
        self._advance(rec)

    def _expire(self, rec: FileRecord, used: Credentials, error: ServiceError) -> None:
        # A request signed with credentials the file has since replaced says nothing about
        # the new ones: just send it again.
        if used is rec.credentials and not rec.needs_auth:
            if error.code == "SignatureDoesNotMatch":
                rec.signature_retry_used = True
            self._enter_expired(rec, error)
        else:
            self._advance(rec)

    # ------------------------------------------------------------------ outcomes

    def _on_outcome(self, event: Outcome) -> None:
        flight = self._flights.get(event.command_id)
        if flight is None:
            if event.command_id < self._next_id:
                raise StaleOutcomeError(
                    f"command {event.command_id} has no outcome pending (already settled, "
                    "or an effect)"
                )
            raise UnknownCommandError(f"command {event.command_id} was never issued")
        kind = type(event)
        if kind is CommandFailed:
            assert isinstance(event, CommandFailed)
            self._on_failed(flight, event.error)
            return
        if kind is CommandAbandoned:
            self._on_abandoned(flight)
            return
        if kind not in _SUCCESS[type(flight.command)]:
            raise OutcomeMismatchError(
                f"{kind.__name__} does not answer {type(flight.command).__name__} "
                f"{event.command_id}"
            )
        _SUCCESS_HANDLERS[kind](self, flight, event)

    def _on_failed(self, flight: _Flight, error: ServiceError) -> None:
        command = flight.command
        rec = flight.record
        if rec is None:  # an abort
            self._release(flight)
            self._abort_failed(flight, error)
            return
        kind = type(command)
        if kind is UploadPart:
            assert isinstance(command, UploadPart)
            current = rec.in_flight_numbers.get(command.part_number) == command.command_id
            self._release(flight)
            if current:
                self._part_failed(rec, command, error)
            return
        if kind is RequestAuth or kind is CallVod:
            self._auth_failed(flight, rec, error)
            return
        current = self._is_current_op(flight, rec)
        self._release(flight)
        if not current or rec.state is not FileState.UPLOADING:
            return
        assert isinstance(
            command, (PutObject, InitiateMultipart, ListParts, CompleteMultipart, HeadObject)
        )
        disposition = classify(
            error,
            has_security_token=command.credentials.security_token is not None,
            signature_retry_used=rec.signature_retry_used,
        )
        if disposition is Disposition.TOKEN_EXPIRED:
            self._expire(rec, command.credentials, error)
        elif disposition is Disposition.RETRY:
            self._retry(rec, flight.op, error)
        elif disposition is Disposition.LOST_UPLOAD and flight.op == "complete":
            # An earlier Complete may have succeeded with its answer lost: look first.
            rec.verify_pending = True
            self._advance(rec)
        elif disposition is Disposition.LOST_UPLOAD and flight.op in ("list", "head"):
            self._restart(rec, error)
        else:
            self._fail(rec, error)

    def _part_failed(self, rec: FileRecord, command: UploadPart, error: ServiceError) -> None:
        number = command.part_number
        if rec.state is not FileState.UPLOADING:
            rec.requeue.appendleft(number)
            return
        disposition = classify(
            error,
            has_security_token=command.credentials.security_token is not None,
            signature_retry_used=rec.signature_retry_used,
        )
        if disposition is Disposition.TOKEN_EXPIRED:
            rec.requeue.appendleft(number)
            self._expire(rec, command.credentials, error)
        elif disposition is Disposition.RETRY:
            self._retry(rec, number, error)
        elif disposition is Disposition.LOST_UPLOAD:
            self._restart(rec, error)
        else:
            self._fail(rec, error)

    def _auth_failed(self, flight: _Flight, rec: FileRecord, error: ServiceError) -> None:
        blocking = rec.auth_request == flight.command.command_id
        self._release(flight)
        if rec.removed or rec.state is not FileState.UPLOADING or not blocking:
            return  # a failed proactive refresh is dropped: expiry will be handled reactively
        disposition = classify(
            error,
            has_security_token=type(flight.command) is CallVod,
            signature_retry_used=False,
        )
        if disposition is Disposition.TOKEN_EXPIRED:
            # The STS token behind a VOD call expired: ask the application for a new one.
            # Counted against the budget, since an auth provider could loop here at once.
            retry_number = rec.retry_counts.get("expired", 0) + 1
            if not self._policy.allows(retry_number, rec.budget_used):
                self._fail(rec, error)
                return
            rec.retry_counts["expired"] = retry_number
            rec.budget_used += 1
            self._enter_expired(rec, error)
        elif disposition is Disposition.RETRY:
            self._retry(rec, "auth", error)
        else:
            self._fail(rec, error)

    def _abort_failed(self, flight: _Flight, error: ServiceError) -> None:
        disposition = classify(error, has_security_token=False, signature_retry_used=True)
        retries = flight.op
        assert isinstance(retries, int) and isinstance(flight.command, AbortMultipart)
        if disposition is not Disposition.RETRY or retries >= self._policy.max_retries:
            return  # NoSuchUpload means done; anything else is left to the lifecycle rule
        delay = self._policy.delay(retries + 1, self._unit_random())
        self._arm(self._now + delay, _ABORT, None, (flight.command, retries + 1))

    def _on_abandoned(self, flight: _Flight) -> None:
        command = flight.command
        rec = flight.record
        self._release(flight)
        if rec is None:
            assert isinstance(command, AbortMultipart)
            self._issue_abort(
                command.file_id,
                command.target,
                command.credentials,
                command.upload_id,
                int(flight.op),
            )
            return
        if type(command) is UploadPart:
            assert isinstance(command, UploadPart)
            if command.upload_id == rec.upload_id and flight.attempt == rec.attempt:
                rec.requeue.appendleft(command.part_number)
        self._advance(rec)

    # -- successes (validate first: an error raised here must leave everything untouched)

    def _on_auth_provided(self, flight: _Flight, event: UploadAuthProvided) -> None:
        rec = flight.record
        assert rec is not None
        if rec.removed or rec.state in (FileState.SUCCESS, FileState.CANCELED):
            self._release(flight)
            return
        target, retarget = self._check_grant(rec, event.address, event.video_id)
        self._release(flight)
        self._grant(
            rec,
            credentials=event.credentials,
            target=target,
            retarget=retarget,
            video_id=event.video_id,
            image_url=event.image_url,
        )

    def _on_sts_provided(self, flight: _Flight, event: StsTokenProvided) -> None:
        rec = flight.record
        assert rec is not None
        if rec.removed or rec.state is not FileState.UPLOADING:
            self._release(flight)
            return
        if event.direct:
            target, retarget = self._check_grant(rec, None, None)
            self._release(flight)
            self._grant(
                rec,
                credentials=event.token.as_credentials(),
                target=target,
                retarget=retarget,
                video_id=None,
                image_url=None,
            )
            return
        blocking = rec.auth_request == flight.command.command_id
        self._release(flight)
        rec.pending_sts = event.token
        assert isinstance(flight.command, RequestAuth)
        command = self._auth_command(rec, flight.command.reason)
        if blocking:
            rec.auth_request = command.command_id
        else:
            rec.refresh_request = command.command_id
        self._request(rec, command, "auth" if blocking else "refresh")

    def _check_grant(
        self, rec: FileRecord, address: ObjectTarget | None, video_id: str | None
    ) -> tuple[ObjectTarget, bool]:
        if (
            rec.media_kind is MediaKind.VIDEO
            and rec.video_id is not None
            and video_id is not None
            and video_id != rec.video_id
        ):
            raise AuthMismatchError(
                f"file {rec.file_id!r} already has VideoId {rec.video_id!r}; credentials for "
                f"{video_id!r} would orphan it (call RefreshUploadVideo for the stored id)"
            )
        if rec.target is None:
            target = rec.override.apply(address) if address else rec.override.as_target()
            if target is None:
                raise InvalidEventError(
                    f"file {rec.file_id!r} has no target yet: an UploadAddress is needed, or "
                    "AddFile overrides naming endpoint, bucket and key"
                )
            return target, False
        if rec.media_kind is MediaKind.IMAGE and address is not None:
            target = rec.override.apply(address)
            return target, target != rec.target
        return rec.target, False

    def _grant(
        self,
        rec: FileRecord,
        *,
        credentials: Credentials,
        target: ObjectTarget,
        retarget: bool,
        video_id: str | None,
        image_url: str | None,
    ) -> None:
        if retarget:
            # A new image (CreateUploadImage again): its credentials only write the new key.
            if rec.upload_id is not None and rec.credentials is not None and rec.target:
                self._issue_abort(rec.file_id, rec.target, rec.credentials, rec.upload_id)
            rec.invalidate_timers()
            rec.reset_upload()
            rec.object_confirmed = False
        learned = (
            rec.target is None or retarget or (video_id is not None and video_id != rec.video_id)
        )
        rec.target = target
        rec.credentials = credentials
        rec.needs_auth = False
        rec.pending_sts = None
        if video_id is not None:
            rec.video_id = video_id
        if image_url is not None:
            rec.image_url = image_url
        self._expired.discard(rec.file_id)
        self._arm_refresh(rec)
        if learned:
            self._save_checkpoint(rec, force=True)
        self._advance(rec)

    def _on_put(self, flight: _Flight, event: ObjectPut) -> None:
        rec = flight.record
        assert rec is not None
        current = self._is_current_op(flight, rec)
        self._release(flight)
        if not current:
            return
        if event.server_crc64 is not None and event.server_crc64 != event.crc64:
            if rec.state is FileState.UPLOADING:
                self._retry(rec, "put", _crc_error("object", event.crc64, event.server_crc64))
            return
        rec.signature_retry_used = False
        rec.object_confirmed = True
        rec.object_verified = event.server_crc64 is not None
        rec.object_crc = event.crc64
        rec.bytes_done = rec.size
        if rec.state is FileState.UPLOADING:
            self._progress(rec)
            self._succeed(rec)

    def _on_initiated(self, flight: _Flight, event: MultipartInitiated) -> None:
        rec = flight.record
        assert rec is not None
        command = flight.command
        assert isinstance(command, InitiateMultipart)
        adopt = self._is_current_op(flight, rec) and rec.upload_id is None
        self._release(flight)
        if not adopt:
            # Nobody will ever use this upload (file canceled, deleted or restarted): abort it
            # so no multipart upload is left open on the server.
            self._issue_abort(command.file_id, command.target, command.credentials, event.upload_id)
            return
        rec.signature_retry_used = False
        rec.retry_counts.pop("initiate", None)
        rec.upload_id = event.upload_id
        if rec.state is FileState.UPLOADING:
            self._progress(rec)
        self._save_checkpoint(rec, force=True)
        self._advance(rec)

    def _on_part(self, flight: _Flight, event: PartUploaded) -> None:
        rec = flight.record
        assert rec is not None
        command = flight.command
        assert isinstance(command, UploadPart)
        number = command.part_number
        current = rec.in_flight_numbers.get(number) == command.command_id
        self._release(flight)
        if not current or rec.removed:
            return
        if event.server_crc64 is not None and event.server_crc64 != event.crc64:
            self._part_failed(
                rec, command, _crc_error(f"part {number}", event.crc64, event.server_crc64)
            )
            return
        rec.signature_retry_used = False
        if rec.retry_counts:
            rec.retry_counts.pop(number, None)
        rec.done[number] = (event.etag, event.crc64, command.length)
        rec.bytes_done += command.length
        if rec.state is FileState.UPLOADING:
            self._progress(rec)
        self._save_checkpoint(rec, force=False)
        self._advance(rec)

    def _on_listed(self, flight: _Flight, event: PartsListed) -> None:
        rec = flight.record
        assert rec is not None
        numbers = [part.number for part in event.parts]
        if len(set(numbers)) != len(numbers):
            raise OutcomeMismatchError("ListParts answer names a part more than once")
        current = self._is_current_op(flight, rec) and rec.needs_listing
        self._release(flight)
        if not current:
            return
        plan = rec.plan
        listed = {part.number: part for part in event.parts}
        kept = {}
        for number, (etag, crc, size) in rec.done.items():
            part = listed.get(number)
            if (
                part is not None
                and number <= plan.part_count
                and part.size == size == plan.part_range(number)[1]
                and _norm_etag(part.etag) == _norm_etag(etag)
            ):
                kept[number] = (part.etag, crc, size)
        rec.done = kept
        rec.bytes_done = sum(size for _, _, size in kept.values())
        rec.requeue.clear()
        rec.requeue.extend(
            n
            for n in range(1, plan.part_count + 1)
            if n not in kept and n not in rec.in_flight_numbers
        )
        rec.next_fresh = plan.part_count + 1
        rec.needs_listing = False
        rec.signature_retry_used = False
        if rec.state is FileState.UPLOADING:
            self._progress(rec)
        self._save_checkpoint(rec, force=True)
        self._advance(rec)

    def _on_completed(self, flight: _Flight, event: MultipartCompleted) -> None:
        rec = flight.record
        assert rec is not None
        current = self._is_current_op(flight, rec)
        self._release(flight)
        if not current:
            return
        expected = rec.expected_crc
        if event.server_crc64 is not None and event.server_crc64 != expected:
            if rec.state is FileState.UPLOADING:
                assert expected is not None
                self._fail(rec, _crc_error("object", expected, event.server_crc64))
            return
        self._confirm_object(rec, verified=event.server_crc64 is not None)

    def _on_headed(self, flight: _Flight, event: ObjectHeaded) -> None:
        rec = flight.record
        assert rec is not None
        current = self._is_current_op(flight, rec)
        self._release(flight)
        if not current or rec.state is not FileState.UPLOADING:
            return
        rec.verify_pending = False
        if event.size == rec.size and event.server_crc64 in (None, rec.expected_crc):
            self._confirm_object(rec, verified=event.server_crc64 is not None)
        else:
            self._restart(
                rec,
                ServiceError(
                    kind=ErrorKind.SERVICE,
                    code="NoSuchUpload",
                    message="the upload vanished before Complete",
                ),
            )

    def _confirm_object(self, rec: FileRecord, *, verified: bool) -> None:
        rec.signature_retry_used = False
        rec.object_confirmed = True
        rec.object_verified = verified
        rec.object_crc = rec.expected_crc
        if rec.state is FileState.UPLOADING:
            self._succeed(rec)

    def _on_aborted(self, flight: _Flight, event: MultipartAborted) -> None:
        self._release(flight)


def _crc_error(what: str, expected: int, reported: int) -> ServiceError:
    return ServiceError(
        kind=ErrorKind.INTEGRITY,
        code="Crc64Mismatch",
        message=f"{what}: sent CRC-64 {expected:016x}, the service reports {reported:016x}",
    )


_SUCCESS_HANDLERS: dict[type[Outcome], Callable[[TransferEngine, _Flight, Any], None]] = {
    UploadAuthProvided: TransferEngine._on_auth_provided,
    StsTokenProvided: TransferEngine._on_sts_provided,
    ObjectPut: TransferEngine._on_put,
    MultipartInitiated: TransferEngine._on_initiated,
    PartUploaded: TransferEngine._on_part,
    PartsListed: TransferEngine._on_listed,
    MultipartCompleted: TransferEngine._on_completed,
    MultipartAborted: TransferEngine._on_aborted,
    ObjectHeaded: TransferEngine._on_headed,
}
