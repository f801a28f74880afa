"""What each outcome does to a file: one plain function per outcome, in one table.

:data:`ANSWERS` says which outcomes answer each request; :data:`ON_SUCCESS` names the function
that records a success. A failure is classified and looked up in
:data:`~vodref.core.states.ON_FAILURE`; :func:`react` carries out the reaction. After recording
its facts, every handler calls ``Machine.advance``, which asks
:func:`~vodref.core.states.next_step` what comes next.

Handlers validate everything that can make an outcome unacceptable *before* releasing the
flight or touching the record, so an error raised here leaves the core as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._machine import Machine
from ._outage import back_off, connection_ok, release_held
from ._records import FileRecord, Flight
from ._resume import expect_object, on_listed, on_verified, unverified, verifying
from ._timers import AbortTimer
from .classify import classify
from .commands import (
    AbortMultipart,
    CallVod,
    CompleteMultipart,
    HeadObject,
    InitiateMultipart,
    ListParts,
    OssRequest,
    PutObject,
    Request,
    RequestAuth,
    UploadPart,
    VerifyPart,
)
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
    PartVerified,
    StsTokenProvided,
    UploadAuthProvided,
)
from .states import ON_FAILURE, FileState, PartKey, Reaction, RetryKey, Step
from .values import Credentials, ErrorKind, MediaKind, ObjectTarget, ServiceError


def on_outcome(m: Machine, event: Outcome) -> None:
    """Match ``event`` to its flight and hand it to the success table or the failure rules."""
    flight = m.flights.get(event.command_id)
    if flight is None:
        if event.command_id < m.next_id:
            raise StaleOutcomeError(
                f"command {event.command_id} has no outcome pending (already settled, or an effect)"
            )
        raise UnknownCommandError(f"command {event.command_id} was never issued")
    kind = type(event)
    if kind is CommandFailed:
        assert isinstance(event, CommandFailed)
        on_failed(m, flight, event.error)
        return
    if kind is CommandAbandoned:
        on_abandoned(m, flight)
        return
    if kind not in ANSWERS[type(flight.command)]:
        raise OutcomeMismatchError(
            f"{kind.__name__} does not answer {type(flight.command).__name__} {event.command_id}"
        )
    # Validated above; an error raised by a handler below leaves the outage as it was too,
    # since every handler validates before it changes anything.
    reachable = isinstance(flight.command, OssRequest | AbortMultipart)
    ON_SUCCESS[kind](m, flight, event)
    if reachable and connection_ok(m):
        release_held(m)


# ---------------------------------------------------------------------- failures


def on_failed(m: Machine, flight: Flight, error: ServiceError) -> None:
    """Drop a failure that no longer matters; otherwise classify it and react (ON_FAILURE)."""
    command = flight.command
    rec = flight.record
    step = flight.step
    if rec is None:  # an abort
        m.release(flight)
        assert isinstance(command, AbortMultipart)
        disposition = classify(error, has_security_token=False, signature_retry_used=True)
        abort_failed(m, command, ON_FAILURE[(Step.ABORT, disposition)], flight.retries)
        return
    if isinstance(command, UploadPart):
        current = rec.in_flight_numbers.get(command.part_number) == command.command_id
        m.release(flight)
        if current:
            part_failed(m, rec, command, error)
        return
    if isinstance(command, VerifyPart):
        current = verifying(flight, rec, command)
        m.release(flight)
        if current:
            disposition = classify(error, has_security_token=False, signature_retry_used=True)
            react(m, rec, ON_FAILURE[(step, disposition)], key=step, used=None, error=error)
            unverified(rec, command, checked=True)
            m.advance(rec)
        return
    if isinstance(command, (RequestAuth, CallVod)):
        blocking = rec.auth_request == command.command_id
        m.release(flight)
        if not rec.uploading or not blocking:
            return  # a failed proactive refresh is dropped: expiry will be handled reactively
        disposition = classify(
            error, has_security_token=type(command) is CallVod, signature_retry_used=False
        )
        react(m, rec, ON_FAILURE[(step, disposition)], key=step, used=None, error=error)
        return
    current = m.is_current_op(flight, rec)
    m.release(flight)
    if not current or not rec.uploading:
        return
    assert isinstance(
        command, (PutObject, InitiateMultipart, ListParts, CompleteMultipart, HeadObject)
    )
    used = command.credentials
    disposition = classify(
        error,
        has_security_token=used.security_token is not None,
        signature_retry_used=rec.signature_retry_used,
    )
    react(m, rec, ON_FAILURE[(step, disposition)], key=step, used=used, error=error)


def abort_failed(m: Machine, command: AbortMultipart, reaction: Reaction, retries: int) -> None:
    """An abort nobody waits for failed. RETRY: again after the backoff, ``max_retries``
    times. BACK_OFF (the connection fails): again after each backoff, uncounted, until
    ``outage_limit`` seconds passed since its first such failure in a row, so an abort
    outlives an outage as the uploads do (UP-CANCEL-007). Anything else, or out of either
    budget: dropped (NoSuchUpload means done; the rest is left to the lifecycle rule)."""
    upload_id = command.upload_id
    since, rounds = m.abort_waits.pop(upload_id, (m.now, 0))
    if reaction is Reaction.BACK_OFF:
        limit = m.options.outage_limit
        if limit is None or m.now - since < limit:
            m.abort_waits[upload_id] = (since, rounds + 1)
            delay = m.policy.delay(rounds + 1, m.unit_random())
            m.arm(m.now + delay, AbortTimer(command, retries))
        return
    if reaction is Reaction.RETRY and retries < m.policy.max_retries:
        delay = m.policy.delay(retries + 1, m.unit_random())
        m.arm(m.now + delay, AbortTimer(command, retries + 1))


def part_failed(m: Machine, rec: FileRecord, command: UploadPart, error: ServiceError) -> None:
    number = command.part_number
    if not rec.uploading:
        rec.requeue.appendleft(number)
        return
    used = command.credentials
    disposition = classify(
        error,
        has_security_token=used.security_token is not None,
        signature_retry_used=rec.signature_retry_used,
    )
    reaction = ON_FAILURE[(Step.SEND_PARTS, disposition)]
    if reaction is not Reaction.RETRY and reaction is not Reaction.BACK_OFF:
        # Whatever happens next, the part is still to be sent (after new credentials, or
        # when a failed file is started again).
        rec.requeue.appendleft(number)
    react(m, rec, reaction, key=PartKey(number), used=used, error=error)


def react(
    m: Machine,
    rec: FileRecord,
    reaction: Reaction,
    *,
    key: RetryKey,
    used: Credentials | None,
    error: ServiceError,
) -> None:
    """Carry out ``reaction`` for a failed request whose retries count under ``key``, signed
    with ``used`` (None for a credentials request)."""
    if reaction is Reaction.RETRY:
        m.retry(rec, key, error)
    elif reaction is Reaction.BACK_OFF:
        back_off(m, rec, key, error)
    elif reaction is Reaction.AWAIT_CREDENTIALS:
        if used is not None:
            m.expire(rec, used, error)
        # The STS token behind a VOD call expired: ask the application for a new one.
        # Counted against the budget, since an auth provider could loop here at once.
        elif m.count_retry(rec, Reaction.AWAIT_CREDENTIALS) is None:
            m.fail(rec, error)
        else:
            m.enter_expired(rec, error)
    elif reaction is Reaction.RESTART_UPLOAD:
        m.restart(rec, error)
    elif reaction is Reaction.VERIFY_OBJECT:
        # An earlier Complete may have succeeded with its answer lost: look first, when what
        # it would have made is known (UP-RESUME-006, UP-RESUME-012); else the upload is
        # simply gone.
        if expect_object(rec):
            rec.verify_pending = True
            m.advance(rec)
        else:
            m.restart(rec, error)
    elif reaction is Reaction.FAIL:
        m.fail(rec, error)
    # Reaction.DROP: nothing to do (the table uses it for aborts only). Reaction.RESEND:
    # the caller puts the part back in the queue (VerifyPart only).


def on_abandoned(m: Machine, flight: Flight) -> None:
    command = flight.command
    rec = flight.record
    adopting = (
        rec is not None and isinstance(command, VerifyPart) and verifying(flight, rec, command)
    )
    m.release(flight)
    if adopting:
        assert rec is not None and isinstance(command, VerifyPart)
        unverified(rec, command, checked=False)  # never checked
    if rec is None:
        assert isinstance(command, AbortMultipart)
        m.issue_abort(
            command.file_id,
            command.target,
            command.credentials,
            command.upload_id,
            flight.retries,
        )
        return
    if type(command) is UploadPart:
        assert isinstance(command, UploadPart)
        if command.upload_id == rec.upload_id and flight.attempt == rec.attempt:
            rec.requeue.appendleft(command.part_number)
    m.advance(rec)


# ---------------------------------------------------------------------- successes
# Validate first: an error raised here must leave everything untouched.


def on_auth_provided(m: Machine, flight: Flight, event: UploadAuthProvided) -> None:
    rec = flight.record
    assert rec is not None
    late_video = (
        rec.state is FileState.CANCELED
        and not rec.removed
        and rec.media_kind is MediaKind.VIDEO
        and rec.video_id is None
        and event.video_id is not None
    )
    if late_video:
        # UP-CANCEL-009: the video a CreateUploadVideo on the wire at the cancel made is the
        # file's; a resume refreshes it instead of making a second one. Only the VideoId
        # and the target are taken: the answer is otherwise released, as before.
        address = event.address
        target = rec.target or (
            rec.override.apply(address) if address else rec.override.as_target()
        )
        if target is not None:
            rec.video_id, rec.target = event.video_id, target
    if rec.removed or rec.state in (FileState.SUCCESS, FileState.CANCELED):
        m.release(flight)
        return
    target, retarget = _check_grant(rec, event.address, event.video_id)
    m.release(flight)
    _grant(
        m,
        rec,
        credentials=event.credentials,
        target=target,
        retarget=retarget,
        video_id=event.video_id,
        image_url=event.image_url,
    )


def on_sts_provided(m: Machine, flight: Flight, event: StsTokenProvided) -> None:
    rec = flight.record
    assert rec is not None
    if not rec.uploading:
        m.release(flight)
        return
    if event.direct:
        target, retarget = _check_grant(rec, None, None)
        m.release(flight)
        _grant(
            m,
            rec,
            credentials=event.token.as_credentials(),
            target=target,
            retarget=retarget,
            video_id=None,
            image_url=None,
        )
        return
    blocking = rec.auth_request == flight.command.command_id
    m.release(flight)
    if blocking:  # kept so a failed or abandoned CallVod can be issued again
        rec.pending_sts = event.token
    assert isinstance(flight.command, RequestAuth)
    command = m.auth_command(rec, flight.command.reason, event.token)
    if blocking:
        rec.auth_request = command.command_id
    else:
        rec.refresh_request = command.command_id
    m.request(rec, command, Step.AUTHORIZE)


def _check_grant(
    rec: FileRecord, address: ObjectTarget | None, video_id: str | None
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
    m: Machine,
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
            m.issue_abort(rec.file_id, rec.target, rec.credentials, rec.upload_id)
        rec.invalidate_timers()
        rec.reset_upload()
        rec.object_confirmed = False
    learned = rec.target is None or retarget or (video_id is not None and video_id != rec.video_id)
    rec.target = target
    rec.credentials = credentials
    rec.needs_auth = False
    rec.auth_deadline = None
    rec.pending_sts = None
    if video_id is not None:
        rec.video_id = video_id
    if image_url is not None:
        rec.image_url = image_url
    m.expired.discard(rec.file_id)
    m.arm_refresh(rec)
    m.abort_stale(rec)
    if learned:
        m.save_checkpoint(rec, force=True)
    m.advance(rec)


def on_put(m: Machine, flight: Flight, event: ObjectPut) -> None:
    late = flight.record
    rec = _settle_op(m, flight)
    if rec is None:
        if late is not None and _put_landed_after_cancel(late, flight, event):
            _confirm_late_put(m, late, event)
        return
    if event.server_crc64 is not None and event.server_crc64 != event.crc64:
        if rec.uploading:
            m.retry(rec, Step.PUT, _crc_error("object", event.crc64, event.server_crc64))
        return
    rec.signature_retry_used = False
    rec.object_confirmed = True
    rec.object_verified = event.server_crc64 is not None
    rec.object_crc = event.crc64
    rec.bytes_done = rec.size
    if rec.uploading:
        m.progress(rec)
    if rec.uploading or _stopped(rec):
        m.succeed(rec)


def _stopped(rec: FileRecord) -> bool:
    """UP-CANCEL-010: a file stopped or paused (still in the list) whose Put or Complete
    lands anyway: its object and video exist, so it ends Success rather than hiding them."""
    return rec.state is FileState.STOPPED and not rec.removed


def _put_landed_after_cancel(rec: FileRecord, flight: Flight, event: ObjectPut) -> bool:
    """A Put of the attempt a cancel ended (cancel starts a new attempt) completed intact."""
    return (
        not rec.removed
        and rec.state in (FileState.CANCELED, FileState.READY)
        and flight.attempt == rec.attempt - 1
        and rec.upload_id is None
        and (event.server_crc64 is None or event.server_crc64 == event.crc64)
    )


def _confirm_late_put(m: Machine, rec: FileRecord, event: ObjectPut) -> None:
    """UP-CANCEL-006: the object exists, and so does its video: a Canceled file ends Success
    (a file resumed meanwhile succeeds when picked, as after a stop)."""
    rec.object_confirmed = True
    rec.object_verified = event.server_crc64 is not None
    rec.object_crc = event.crc64
    rec.bytes_done = rec.size
    if rec.state is FileState.CANCELED:
        m.succeed(rec)


def on_initiated(m: Machine, flight: Flight, event: MultipartInitiated) -> None:
    rec = flight.record
    assert rec is not None
    command = flight.command
    assert isinstance(command, InitiateMultipart)
    adopt = m.is_current_op(flight, rec) and rec.upload_id is None
    m.release(flight)
    if not adopt:
        # Nobody will ever use this upload (file canceled, deleted or restarted): abort it
        # so no multipart upload is left open on the server.
        m.issue_abort(command.file_id, command.target, command.credentials, event.upload_id)
        return
    rec.signature_retry_used = False
    rec.retry_counts.pop(Step.INITIATE, None)
    rec.upload_id = event.upload_id
    # The upload id is durable (a barrier save) before the progress that reports it and
    # before the parts that depend on it (UP-DUR-002).
    m.save_checkpoint(rec, force=True)
    if rec.uploading:
        m.progress(rec)
    m.advance(rec)


def on_part(m: Machine, flight: Flight, event: PartUploaded) -> None:
    rec = flight.record
    assert rec is not None
    command = flight.command
    assert isinstance(command, UploadPart)
    number = command.part_number
    current = rec.in_flight_numbers.get(number) == command.command_id
    m.release(flight)
    if not current or rec.removed:
        return
    if event.server_crc64 is not None and event.server_crc64 != event.crc64:
        part_failed(m, rec, command, _crc_error(f"part {number}", event.crc64, event.server_crc64))
        return
    rec.signature_retry_used = False
    # UP-OUTAGE-003: progress restores the budget; retries bound failures in a row.
    rec.reset_retries()
    rec.add_done(number, event.etag, event.crc64, command.length)
    rec.bytes_done += command.length
    if rec.uploading:
        m.progress(rec)
    # A part that lands after its file stopped is saved at once: no flush timer runs for a
    # stopped file, and the process may be on its way out (Vod.close, UPL-API-017).
    m.save_checkpoint(rec, force=not rec.uploading)
    m.advance(rec)


def on_completed(m: Machine, flight: Flight, event: MultipartCompleted) -> None:
    rec = _settle_op(m, flight)
    if rec is None:
        return
    expected = rec.expected_crc
    if event.server_crc64 is not None and event.server_crc64 != expected:
        if rec.uploading:
            assert expected is not None
            m.fail(rec, _crc_error("object", expected, event.server_crc64))
        return
    _confirm_object(m, rec, verified=event.server_crc64 is not None)


def on_headed(m: Machine, flight: Flight, event: ObjectHeaded) -> None:
    rec = _settle_op(m, flight)
    if rec is None or not rec.uploading:
        return
    rec.verify_pending = False
    if event.size == rec.size and event.server_crc64 in (None, rec.expected_crc):
        # The object is there, but maybe from an earlier upload of the same bytes while this
        # one's Complete never landed: abort it so nothing stays open (UP-DUR-004). If it
        # did complete, the abort meets NoSuchUpload, which counts as done.
        upload_id, credentials, target = rec.upload_id, rec.credentials, rec.target
        if upload_id is not None and credentials is not None and target is not None:
            m.issue_abort(rec.file_id, target, credentials, upload_id)
        _confirm_object(m, rec, verified=event.server_crc64 is not None)
    else:
        m.restart(
            rec,
            ServiceError(
                kind=ErrorKind.SERVICE,
                code="NoSuchUpload",
                message="the upload vanished before Complete",
            ),
        )


def on_aborted(m: Machine, flight: Flight, event: MultipartAborted) -> None:
    m.release(flight)
    assert isinstance(flight.command, AbortMultipart)
    m.abort_waits.pop(flight.command.upload_id, None)


def _settle_op(m: Machine, flight: Flight) -> FileRecord | None:
    """Release a Put, Complete or Head; return its file when the file still waited on it."""
    rec = flight.record
    assert rec is not None
    current = m.is_current_op(flight, rec)
    m.release(flight)
    return rec if current else None


def _confirm_object(m: Machine, rec: FileRecord, *, verified: bool) -> None:
    rec.signature_retry_used = False
    rec.object_confirmed = True
    rec.object_verified = verified
    rec.object_crc = rec.expected_crc
    rec.bytes_done = rec.size
    if rec.uploading or _stopped(rec):
        m.succeed(rec)


def _crc_error(what: str, expected: int, reported: int) -> ServiceError:
    return ServiceError(
        kind=ErrorKind.INTEGRITY,
        code="Crc64Mismatch",
        message=f"{what}: sent CRC-64 {expected:016x}, the service reports {reported:016x}",
    )


# The success outcomes each request accepts (UploadAuthProvided also answers RequestAuth).
ANSWERS: Mapping[type[Request], tuple[type[Outcome], ...]] = {
    RequestAuth: (UploadAuthProvided, StsTokenProvided),
    CallVod: (UploadAuthProvided,),
    PutObject: (ObjectPut,),
    InitiateMultipart: (MultipartInitiated,),
    UploadPart: (PartUploaded,),
    ListParts: (PartsListed,),
    CompleteMultipart: (MultipartCompleted,),
    AbortMultipart: (MultipartAborted,),
    HeadObject: (ObjectHeaded,),
    VerifyPart: (PartVerified,),
}


# What a success does, by outcome type (each function records the facts, then advances).
ON_SUCCESS: Mapping[type[Outcome], Callable[[Machine, Flight, Any], None]] = {
    UploadAuthProvided: on_auth_provided,
    StsTokenProvided: on_sts_provided,
    ObjectPut: on_put,
    MultipartInitiated: on_initiated,
    PartUploaded: on_part,
    PartsListed: on_listed,
    MultipartCompleted: on_completed,
    MultipartAborted: on_aborted,
    ObjectHeaded: on_headed,
    PartVerified: on_verified,
}
