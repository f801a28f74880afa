"""The machinery under :class:`~vodref.core.uploader.Uploader`: command ids, the in-flight
table, timers, checkpoints, and the step logic that issues requests.

The layers, each a module of its own so each stays readable: ``_engine.py`` (this: issuing
and bookkeeping), ``_outcomes.py`` (what each outcome does to a file), ``uploader.py`` (user
calls, queue scheduling, queries). Nothing outside the core imports the private two.

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
from .options import UploaderOptions
from .states import (
    FileState,
    FileTrigger,
    UploaderState,
    UploaderTrigger,
    file_transition,
    uploader_transition,
)
from .values import Credentials, MediaKind, ObjectTarget, ServiceError, StsToken

_RETRY = 0
_REFRESH = 1
_FLUSH = 2
_ABORT = 3


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


class Engine:
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
        self._files: dict[str, FileRecord] = {}  # the list, in order
        # Indexes over _files, kept by _move so that settling after each event costs O(1)
        # instead of a scan of the list: Uploading files, those waiting for credentials
        # after an expiry, and how many are Ready.
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
            return generation == rec.generation and rec.uploading
        if kind == _REFRESH:
            return rec.uploading and rec.credentials is arg
        return rec.flush_armed  # _FLUSH: its firing resets the flag

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
                command = self._auth_command(rec, AuthReason.REFRESH, None)
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
        if rec.media_kind is MediaKind.IMAGE:
            # No RefreshUploadImage exists: new image credentials name another key, so a
            # proactive refresh would restart the upload. Let the current ones run out.
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

    def _auth_command(
        self, rec: FileRecord, reason: AuthReason, token: StsToken | None
    ) -> RequestAuth | CallVod:
        """Ask the application for credentials, or, with an STS ``token`` in hand, ask the
        driver to call VOD with it."""
        if token is None:
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
            token=token,
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
        if not rec.uploading:
            return
        if rec.needs_auth:
            if rec.auth_request is None and not rec.auth_waiting:
                command = self._auth_command(rec, rec.auth_reason, rec.pending_sts)
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
            pieces = [(done[n].crc64, done[n].size) for n in range(1, plan.part_count + 1)]
            rec.expected_crc = crc64_combine_all(pieces)
            step = CompleteMultipart(
                command_id=self._new_id(),
                upload_id=rec.upload_id,
                parts=tuple((n, done[n].etag) for n in range(1, plan.part_count + 1)),
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
            if isinstance(op, int):
                rec.requeue.appendleft(op)  # still to be sent if the file is started again
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
