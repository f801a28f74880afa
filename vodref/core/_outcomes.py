"""What each outcome does to a file: the success handlers and the failure classification.

See ``_engine.py`` for the layering. Handlers validate everything that can make an outcome
unacceptable *before* releasing the flight or touching the record, so an error raised here
leaves the core as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._engine import _ABORT, Engine, _Flight
from ._records import FileRecord
from .classify import Disposition, classify
from .commands import (
    AbortMultipart,
    CallVod,
    CompleteMultipart,
    HeadObject,
    InitiateMultipart,
    ListParts,
    PutObject,
    Request,
    RequestAuth,
    UploadPart,
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
    StsTokenProvided,
    UploadAuthProvided,
)
from .states import (
    FileState,
)
from .values import Credentials, ErrorKind, MediaKind, ObjectTarget, ServiceError

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


def _norm_etag(etag: str) -> str:
    # OSS quotes ETags in XML and headers; drivers may or may not strip the quotes.
    return etag.strip('"').upper()


class OutcomeHandling(Engine):
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
        if not current or not rec.uploading:
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
        if not rec.uploading:
            rec.requeue.appendleft(number)
            return
        disposition = classify(
            error,
            has_security_token=command.credentials.security_token is not None,
            signature_retry_used=rec.signature_retry_used,
        )
        if disposition is Disposition.RETRY:
            self._retry(rec, number, error)
            return
        # Whatever happens next, the part is still to be sent (after new credentials, or
        # when a failed file is started again).
        rec.requeue.appendleft(number)
        if disposition is Disposition.TOKEN_EXPIRED:
            self._expire(rec, command.credentials, error)
        elif disposition is Disposition.LOST_UPLOAD:
            self._restart(rec, error)
        else:
            self._fail(rec, error)

    def _auth_failed(self, flight: _Flight, rec: FileRecord, error: ServiceError) -> None:
        blocking = rec.auth_request == flight.command.command_id
        self._release(flight)
        if not rec.uploading or not blocking:
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
        if not rec.uploading:
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
        if blocking:  # kept so a failed or abandoned CallVod can be issued again
            rec.pending_sts = event.token
        assert isinstance(flight.command, RequestAuth)
        command = self._auth_command(rec, flight.command.reason, event.token)
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
            if rec.uploading:
                self._retry(rec, "put", _crc_error("object", event.crc64, event.server_crc64))
            return
        rec.signature_retry_used = False
        rec.object_confirmed = True
        rec.object_verified = event.server_crc64 is not None
        rec.object_crc = event.crc64
        rec.bytes_done = rec.size
        if rec.uploading:
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
        if rec.uploading:
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
        rec.add_done(number, event.etag, event.crc64, command.length)
        rec.bytes_done += command.length
        if rec.uploading:
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
        kept: set[int] = set()
        for number, claimed in rec.claimed.items():
            part = listed.get(number)
            if (
                part is not None
                and number <= plan.part_count
                and part.size == claimed.size == plan.part_range(number)[1]
                and _norm_etag(part.etag) == _norm_etag(claimed.etag)
            ):
                kept.add(number)
        rec.keep_claimed(kept)
        rec.bytes_done = sum(part.size for part in rec.done.values())
        rec.requeue.clear()
        rec.requeue.extend(
            n
            for n in range(1, plan.part_count + 1)
            if n not in kept and n not in rec.in_flight_numbers
        )
        rec.next_fresh = plan.part_count + 1
        rec.needs_listing = False
        rec.signature_retry_used = False
        if rec.uploading:
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
            if rec.uploading:
                assert expected is not None
                self._fail(rec, _crc_error("object", expected, event.server_crc64))
            return
        self._confirm_object(rec, verified=event.server_crc64 is not None)

    def _on_headed(self, flight: _Flight, event: ObjectHeaded) -> None:
        rec = flight.record
        assert rec is not None
        current = self._is_current_op(flight, rec)
        self._release(flight)
        if not current or not rec.uploading:
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
        if rec.uploading:
            self._succeed(rec)

    def _on_aborted(self, flight: _Flight, event: MultipartAborted) -> None:
        self._release(flight)


def _crc_error(what: str, expected: int, reported: int) -> ServiceError:
    return ServiceError(
        kind=ErrorKind.INTEGRITY,
        code="Crc64Mismatch",
        message=f"{what}: sent CRC-64 {expected:016x}, the service reports {reported:016x}",
    )


_SUCCESS_HANDLERS: dict[type[Outcome], Callable[[OutcomeHandling, _Flight, Any], None]] = {
    UploadAuthProvided: OutcomeHandling._on_auth_provided,
    StsTokenProvided: OutcomeHandling._on_sts_provided,
    ObjectPut: OutcomeHandling._on_put,
    MultipartInitiated: OutcomeHandling._on_initiated,
    PartUploaded: OutcomeHandling._on_part,
    PartsListed: OutcomeHandling._on_listed,
    MultipartCompleted: OutcomeHandling._on_completed,
    MultipartAborted: OutcomeHandling._on_aborted,
    ObjectHeaded: OutcomeHandling._on_headed,
}
