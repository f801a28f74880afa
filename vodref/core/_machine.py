"""The machinery the :class:`~vodref.core.uploader.Uploader` *has*: a :class:`Machine` holding
command ids, the in-flight table, timers and the file index, and the moves that change them.

The rules it follows are in :mod:`vodref.core.states`; this module carries them out. The
central move is :meth:`Machine.advance`: after anything changes a file, it asks
:func:`~vodref.core.states.next_step` what the file's data says comes next and issues the
requests that step needs. Handlers therefore only record facts and call ``advance``; no
handler decides "what comes next" on its own. Nothing outside the core imports this module.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TypedDict

from ._outage import may_send, release_held
from ._records import FileRecord, Flight
from ._resume import verify_parts
from ._timers import (
    AbortTimer,
    CredentialsTimer,
    FlushTimer,
    ProbeTimer,
    RefreshTimer,
    RetryTimer,
    Timer,
)
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
    VerifyPart,
    VodAction,
)
from .crc64 import crc64_combine_all
from .options import UploaderOptions
from .states import (
    FileState,
    FileTrigger,
    PartKey,
    Reaction,
    RetryKey,
    Step,
    UploaderState,
    UploaderTrigger,
    file_transition,
    next_step,
    uploader_transition,
)
from .values import Credentials, ErrorKind, MediaKind, ObjectTarget, ServiceError, StsToken


class _OssFields(TypedDict):
    """What every OSS request of a file carries."""

    file_id: str
    target: ObjectTarget
    credentials: Credentials


class Machine:
    """The mutable state of one core and the moves that change it. Not thread safe."""

    def __init__(self, options: UploaderOptions, random: Callable[[], float] | None) -> None:
        self.options = options
        self.policy = options.retry
        self.random = random
        self.now = -math.inf
        self.next_id = 1
        self.out: list[Command] = []
        self.flights: dict[int, Flight] = {}
        self.timers: list[tuple[float, int, Timer]] = []
        self.timer_seq = 0
        self.files: dict[str, FileRecord] = {}  # the list, in order
        # Indexes over files, kept by move() so that settling after each event costs O(1)
        # instead of a scan of the list: Uploading files, those waiting for credentials
        # after an expiry, and how many are Ready.
        self.active: dict[str, FileRecord] = {}
        self.expired: set[str] = set()
        self.ready_count = 0
        self.state = UploaderState.INIT
        # Outages (UP-OUTAGE-001): UNAVAILABLE failures in a row, across every file. While
        # outage_since is set no OSS request starts, except one probe when a ProbeTimer
        # fires; ops that wanted to start wait in `held`.
        self.failing = 0
        self.outage_since: float | None = None
        self.outage_number = 0
        self.outage_round = 0
        self.probe_allowed = False
        self.probe_armed = False
        self.probe_id: int | None = None
        self.claiming_probe = False
        self.held: dict[str, FileRecord] = {}
        # Aborts waiting for the connection (UP-CANCEL-007): upload id -> (first failure in
        # a row, backoff rounds so far).
        self.abort_waits: dict[str, tuple[float, int]] = {}

    # ------------------------------------------------------------------ small helpers

    def new_id(self) -> int:
        command_id = self.next_id
        self.next_id += 1
        return command_id

    def unit_random(self) -> float:
        if self.random is None:
            return 0.0
        value = self.random()
        # An injected source that misbehaves must not break the state machine mid-update.
        if not isinstance(value, float) or not 0.0 <= value < 1.0:
            return 0.0
        return value

    def add(self, rec: FileRecord) -> None:
        self.files[rec.file_id] = rec
        self.ready_count += 1

    def move(self, rec: FileRecord, trigger: FileTrigger) -> None:
        """The only place a file's state changes (through the table)."""
        new = file_transition(rec.state, trigger)
        old = rec.state
        if old is FileState.READY:
            self.ready_count -= 1
        elif old is FileState.UPLOADING:
            del self.active[rec.file_id]
            self.expired.discard(rec.file_id)
        if new is None:
            del self.files[rec.file_id]
            rec.removed = True
            rec.invalidate_timers()
            return
        rec.state = new
        if new is FileState.READY:
            self.ready_count += 1
        elif new is FileState.UPLOADING:
            self.active[rec.file_id] = rec

    def move_uploader(self, trigger: UploaderTrigger, target: UploaderState | None = None) -> None:
        self.state = uploader_transition(self.state, trigger, target)

    def request(
        self, rec: FileRecord | None, command: Request, step: Step, retries: int = 0
    ) -> None:
        attempt = 0
        if rec is not None:
            attempt = rec.attempt
            rec.outstanding.add(command.command_id)
        if self.claiming_probe:
            self.claiming_probe = False
            self.probe_id = command.command_id
        self.flights[command.command_id] = Flight(command, rec, attempt, step, retries)
        self.out.append(command)

    def release(self, flight: Flight) -> None:
        command = flight.command
        command_id = command.command_id
        del self.flights[command_id]
        if command_id == self.probe_id:
            self.probe_id = None
        rec = flight.record
        if rec is None:
            return
        rec.outstanding.discard(command_id)
        if type(command) is UploadPart:
            rec.parts_in_flight -= 1
            if rec.in_flight_numbers.get(command.part_number) == command_id:
                del rec.in_flight_numbers[command.part_number]
        elif type(command) is VerifyPart:
            if rec.verifying.get(command.part_number) == command_id:
                del rec.verifying[command.part_number]
        elif rec.op_in_flight == command_id:
            rec.op_in_flight = None
        if rec.auth_request == command_id:
            rec.auth_request = None
        if rec.refresh_request == command_id:
            rec.refresh_request = None

    def cancel_outstanding(self, rec: FileRecord) -> None:
        if rec.outstanding:
            self.out.append(
                CancelRequests(command_id=self.new_id(), command_ids=tuple(sorted(rec.outstanding)))
            )

    def is_current_op(self, flight: Flight, rec: FileRecord) -> bool:
        return (
            not rec.removed
            and rec.op_in_flight == flight.command.command_id
            and flight.attempt == rec.attempt
        )

    # ------------------------------------------------------------------ timers

    def arm(self, when: float, timer: Timer) -> None:
        heapq.heappush(self.timers, (when, self.timer_seq, timer))
        self.timer_seq += 1

    def arm_retry(self, rec: FileRecord, key: RetryKey, delay: float) -> None:
        self.arm(self.now + delay, RetryTimer(rec, rec.generation, key))

    def timer_live(self, timer: Timer) -> bool:
        if isinstance(timer, AbortTimer):
            return True
        if isinstance(timer, ProbeTimer):
            return timer.outage == self.outage_number and self.outage_since is not None
        rec = timer.record
        if rec.removed:
            return False
        if isinstance(timer, RetryTimer):
            return timer.generation == rec.generation and rec.uploading
        if isinstance(timer, RefreshTimer):
            return rec.uploading and rec.credentials is timer.credentials
        if isinstance(timer, CredentialsTimer):
            return rec.uploading and rec.needs_auth and rec.auth_deadline == timer.deadline
        return rec.flush_armed  # a flush: its firing resets the flag

    def fire(self, timer: Timer) -> None:
        if isinstance(timer, AbortTimer):
            command = timer.command
            self.issue_abort(
                command.file_id,
                command.target,
                command.credentials,
                command.upload_id,
                timer.retries,
            )
            return
        if isinstance(timer, ProbeTimer):
            self.probe_armed = False
            self.probe_allowed = True
            release_held(self)
            return
        rec = timer.record
        if isinstance(timer, CredentialsTimer):
            timeout = self.options.credentials_timeout
            self.fail(
                rec,
                ServiceError(
                    kind=ErrorKind.LOCAL,
                    code="CredentialsTimeout",
                    message=f"no credentials for {rec.name!r} within {timeout} s "
                    "(answer on_upload_started / on_upload_token_expired, or set auth_provider)",
                ),
            )
            return
        if isinstance(timer, RetryTimer):
            key = timer.key
            if isinstance(key, PartKey):
                rec.waiting_parts.discard(key.number)
                rec.requeue.appendleft(key.number)
            elif key is Step.AUTHORIZE:
                rec.auth_waiting = False
            else:
                rec.op_waiting = False
            self.advance(rec)
        elif isinstance(timer, RefreshTimer):
            if rec.refresh_request is None and not rec.needs_auth:
                refresh = self.auth_command(rec, AuthReason.REFRESH, None)
                rec.refresh_request = refresh.command_id
                self.request(rec, refresh, Step.AUTHORIZE)
        else:
            rec.flush_armed = False
            if rec.state not in (FileState.SUCCESS, FileState.CANCELED):
                self.save_checkpoint(rec, force=True)

    def arm_refresh(self, rec: FileRecord) -> None:
        credentials = rec.credentials
        margin = self.options.refresh_margin
        if credentials is None or credentials.expires_at is None or margin is None:
            return
        if rec.media_kind is MediaKind.IMAGE:
            # No RefreshUploadImage exists: new image credentials name another key, so a
            # proactive refresh would restart the upload. Let the current ones run out.
            return
        when = credentials.expires_at - margin
        # Already inside the margin: refreshing now would ask again at once after every
        # answer; the reactive path handles expiry instead.
        if when > self.now:
            self.arm(when, RefreshTimer(rec, credentials))

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, rec: FileRecord, *, force: bool, barrier: bool = False) -> None:
        """Save ``rec``'s checkpoint now (``force``) or within ``checkpoint_interval``;
        ``barrier``: durable before the file's next request (also when the names changed)."""
        if rec.removed or rec.media_kind is MediaKind.IMAGE:
            return
        if rec.video_id is None and rec.upload_id is None:
            return
        # Which video and upload the checkpoint names: a change makes the save a barrier
        # (UP-DUR-001), written at once whatever the interval.
        names = (rec.video_id, rec.target, rec.upload_id)
        barrier = barrier or names != rec.saved_names
        interval = self.options.checkpoint_interval
        if (
            not force
            and not barrier
            and rec.last_save is not None
            and self.now - rec.last_save < interval
        ):
            rec.dirty = True
            if not rec.flush_armed:
                rec.flush_armed = True
                self.arm(rec.last_save + interval, FlushTimer(rec))
            return
        checkpoint = rec.checkpoint()
        assert checkpoint is not None
        self.out.append(
            SaveCheckpoint(
                command_id=self.new_id(),
                file_id=rec.file_id,
                key=checkpoint.key,
                checkpoint=checkpoint,
                barrier=barrier,
            )
        )
        rec.saved_names = names
        rec.last_save = self.now
        rec.dirty = False

    def flush_checkpoint(self, rec: FileRecord) -> None:
        if rec.dirty:
            self.save_checkpoint(rec, force=True)

    def delete_checkpoint(self, rec: FileRecord) -> None:
        rec.dirty = False
        rec.saved_names = None  # a later save names the video again, as a barrier
        if rec.media_kind is MediaKind.VIDEO:
            self.out.append(
                DeleteCheckpoint(command_id=self.new_id(), file_id=rec.file_id, key=rec.fingerprint)
            )

    # ------------------------------------------------------------------ issuing requests

    def auth_command(
        self, rec: FileRecord, reason: AuthReason, token: StsToken | None
    ) -> RequestAuth | CallVod:
        """Ask the application for credentials, or, with an STS ``token`` in hand, ask the
        driver to call VOD with it."""
        if token is None:
            return RequestAuth(
                command_id=self.new_id(),
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
            command_id=self.new_id(),
            file_id=rec.file_id,
            action=action,
            reason=reason,
            token=token,
            media_kind=rec.media_kind,
            video_id=rec.video_id if action is VodAction.REFRESH_UPLOAD_VIDEO else None,
            file_name=rec.name,
            file_size=rec.size,
        )

    def issue_abort(
        self,
        file_id: str,
        target: ObjectTarget,
        credentials: Credentials | None,
        upload_id: str,
        retries: int = 0,
    ) -> None:
        command = AbortMultipart(
            command_id=self.new_id(),
            file_id=file_id,
            target=target,
            credentials=credentials,
            upload_id=upload_id,
        )
        self.request(None, command, Step.ABORT, retries)

    def abort_stale(self, rec: FileRecord) -> None:
        """Abort the upload the driver abandoned (UP-DUR-004) with the file's first
        credentials for its target; other credentials could not sign for it."""
        stale = rec.stale_upload
        if stale is None or rec.credentials is None or rec.target != stale[0]:
            return
        rec.stale_upload = None
        self.issue_abort(rec.file_id, stale[0], rec.credentials, stale[1])

    def advance(self, rec: FileRecord) -> None:
        """Issue whatever :func:`next_step` says the file's data calls for."""
        timeout = self.options.credentials_timeout
        if rec.needs_auth and rec.auth_deadline is None and timeout is not None and rec.uploading:
            # UP-HANG-001: the whole wait for credentials has one deadline.
            rec.auth_deadline = self.now + timeout
            self.arm(rec.auth_deadline, CredentialsTimer(rec, rec.auth_deadline))
        step = next_step(rec.facts())
        if step is None:
            return
        if step is Step.AUTHORIZE:
            auth = self.auth_command(rec, rec.auth_reason, rec.pending_sts)
            rec.auth_request = auth.command_id
            self.request(rec, auth, step)
            return
        target = rec.target
        credentials = rec.credentials
        assert target is not None and credentials is not None
        if step is Step.SEND_PARTS:
            assert rec.upload_id is not None
            verify_parts(self, rec)
            self.send_parts(rec, target, credentials, rec.upload_id)
            return
        if not may_send(self):
            rec.op_waiting = True
            self.held[rec.file_id] = rec
            return
        command = self._step_request(
            rec, step, {"file_id": rec.file_id, "target": target, "credentials": credentials}
        )
        rec.op_in_flight = command.command_id
        self.request(rec, command, step)

    def _step_request(self, rec: FileRecord, step: Step, oss: _OssFields) -> Request:
        """The one request of a step other than AUTHORIZE and SEND_PARTS."""
        if step is Step.PUT:
            return PutObject(command_id=self.new_id(), size=rec.size, **oss)
        if step is Step.INITIATE:
            return InitiateMultipart(command_id=self.new_id(), **oss)
        if step is Step.VERIFY:
            return HeadObject(command_id=self.new_id(), **oss)
        upload_id = rec.upload_id
        assert upload_id is not None
        if step is Step.LIST:
            return ListParts(command_id=self.new_id(), upload_id=upload_id, **oss)
        assert step is Step.COMPLETE
        done = rec.done
        numbers = range(1, rec.plan.part_count + 1)
        rec.expected_crc = crc64_combine_all([(done[n].crc64, done[n].size) for n in numbers])
        # UP-RESUME-012: a checkpoint naming every part is durable before Complete goes out,
        # so a process that dies with the answer can still recognise the object it made.
        self.save_checkpoint(rec, force=True, barrier=True)
        return CompleteMultipart(
            command_id=self.new_id(),
            upload_id=upload_id,
            parts=tuple((n, done[n].etag) for n in numbers),
            expected_crc64=rec.expected_crc,
            **oss,
        )

    def send_parts(
        self, rec: FileRecord, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        parallel = self.options.parallel
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
            if not may_send(self):
                requeue.appendleft(number)
                return
            offset, length = plan.part_range(number)
            command = UploadPart(
                command_id=self.new_id(),
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
            self.request(rec, command, Step.SEND_PARTS)

    # ------------------------------------------------------------------ file endings

    def progress(self, rec: FileRecord) -> None:
        if rec.bytes_done < rec.reported_bytes:
            return  # a recorded part was dropped (UP-RESUME-011): never report less
        rec.reported_bytes = rec.bytes_done
        self.out.append(
            NotifyProgress(
                command_id=self.new_id(),
                file_id=rec.file_id,
                attempt=rec.attempt,
                bytes_done=rec.bytes_done,
                total_bytes=rec.size,
                parts_done=len(rec.done),
                part_count=rec.plan.part_count,
            )
        )

    def succeed(self, rec: FileRecord) -> None:
        self.move(rec, FileTrigger.SUCCEED)
        rec.error = None
        rec.invalidate_timers()
        self.cancel_outstanding(rec)
        self.delete_checkpoint(rec)
        self.out.append(
            NotifySucceeded(command_id=self.new_id(), file=rec.view(), verified=rec.object_verified)
        )

    def fail(self, rec: FileRecord, error: ServiceError) -> None:
        self.move(rec, FileTrigger.FAIL)
        rec.error = error
        rec.invalidate_timers()
        self.cancel_outstanding(rec)
        self.save_checkpoint(rec, force=True)
        self.out.append(NotifyFailed(command_id=self.new_id(), file=rec.view(), error=error))

    def count_retry(self, rec: FileRecord, key: RetryKey) -> int | None:
        """Count one more retry of ``key`` against the policy; None when it allows no more."""
        retry_number = rec.retry_counts.get(key, 0) + 1
        if not self.policy.allows(retry_number, rec.budget_used):
            return None
        rec.retry_counts[key] = retry_number
        rec.budget_used += 1
        return retry_number

    def retry(self, rec: FileRecord, key: RetryKey, error: ServiceError) -> None:
        """Reaction RETRY: send ``key`` again after the backoff, or fail when out of retries."""
        retry_number = self.count_retry(rec, key)
        if retry_number is None:
            if isinstance(key, PartKey):
                rec.requeue.appendleft(key.number)  # still to be sent if the file restarts
            self.fail(rec, error)
            return
        if isinstance(key, PartKey):
            rec.waiting_parts.add(key.number)
        elif key is Step.AUTHORIZE:
            rec.auth_waiting = True
        else:
            rec.op_waiting = True
        self.arm_retry(rec, key, self.policy.delay(retry_number, self.unit_random()))

    def restart(self, rec: FileRecord, error: ServiceError) -> None:
        """Reaction RESTART_UPLOAD: the multipart upload is gone; start a new one for the
        same VideoId."""
        if self.count_retry(rec, Reaction.RESTART_UPLOAD) is None:
            self.fail(rec, error)
            return
        rec.invalidate_timers()
        rec.reset_upload()
        self.save_checkpoint(rec, force=True)
        self.advance(rec)

    def enter_expired(self, rec: FileRecord, error: ServiceError) -> None:
        rec.needs_auth = True
        rec.auth_reason = AuthReason.EXPIRED
        rec.pending_sts = None
        self.flush_checkpoint(rec)
        self.out.append(NotifyTokenExpired(command_id=self.new_id(), file=rec.view(), error=error))
        self.expired.add(rec.file_id)
        self.move_uploader(UploaderTrigger.TOKEN_EXPIRED)
        self.advance(rec)

    def expire(self, rec: FileRecord, used: Credentials, error: ServiceError) -> None:
        """Reaction AWAIT_CREDENTIALS for a request signed with ``used``."""
        # A request signed with credentials the file has since replaced says nothing about
        # the new ones: just send it again.
        if used is rec.credentials and not rec.needs_auth:
            if error.code == "SignatureDoesNotMatch":
                rec.signature_retry_used = True
            self.enter_expired(rec, error)
        else:
            self.advance(rec)
