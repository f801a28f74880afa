"""Performing the core's requests: one function per command type, outcome event out.

Runs on the driver's worker threads. Whatever happens, a performer returns exactly one
outcome for its command (the success event, or ``CommandFailed`` with a classified
:class:`~vodref.core.values.ServiceError`); only a bug in vodref itself escapes, and the
driver turns even that into ``CommandFailed`` so the core never waits forever.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .checksums import crc64
from .clock import Clock
from .core import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CommandAbandoned,
    CommandFailed,
    CompleteMultipart,
    Credentials,
    Disposition,
    ErrorKind,
    HeadObject,
    InitiateMultipart,
    ListedPart,
    ListParts,
    MediaKind,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    ObjectHeaded,
    ObjectPut,
    Outcome,
    PartsListed,
    PartUploaded,
    PartVerified,
    PutObject,
    Request,
    RequestAuth,
    ServiceError,
    StsToken,
    StsTokenProvided,
    UploadAuthProvided,
    UploadPart,
    VerifyPart,
    VodAction,
    classify,
)
from .errors import MalformedAuthError, SourceChangedError, SourceError, TransportError
from .internal_errors import log_unexpected
from .sources import FileSource
from .transport import ObjectTransport
from .upload_auth import decode_upload_address, decode_upload_auth
from .vod_api import AuthProvider, AuthRequest, UploadGrant, VodApi, VodAuthProvider

__all__ = ["FileContext", "Performer", "VodApiFactory", "grant_to_outcome"]

log = logging.getLogger("vodref.driver")

#: Builds a VOD client signed with STS credentials (STS mode's CallVod).
VodApiFactory = Callable[[StsToken], VodApi]


@dataclass(slots=True)
class FileContext:
    """What the driver knows about a file beyond the core: its bytes and its VOD params."""

    source: FileSource
    vod_params: Mapping[str, object]
    param_data: str | None
    # Store key of "this path was last uploaded with this fingerprint" (videos only).
    identity_key: str | None = None
    # The file's VideoId once known: lets the driver refresh credentials for an abort.
    video_id: str | None = None


def grant_to_outcome(
    command_id: int, grant: UploadGrant, clock: Clock, *, media_kind: MediaKind
) -> UploadAuthProvided:
    """Decode a VOD grant (raises MalformedAuthError) into the core's answer."""
    decoded = decode_upload_auth(grant.upload_auth, clock)
    address = decode_upload_address(grant.upload_address)
    media_id = grant.image_id if media_kind is MediaKind.IMAGE else grant.video_id
    return UploadAuthProvided(
        command_id=command_id,
        credentials=decoded.credentials,
        address=address,
        video_id=media_id or grant.video_id,
        image_url=grant.image_url,
    )


def _credentials_expired(error: ServiceError, credentials: Credentials) -> bool:
    """Whether the core would wait for new credentials after this failure (its
    classification, the one home of the token-expiry codes: UP-TOKEN-* in specs/uploader.md)."""
    disposition = classify(
        error,
        has_security_token=bool(credentials.security_token),
        signature_retry_used=False,
    )
    return disposition is Disposition.TOKEN_EXPIRED


def _may_have_taken_effect(error: ServiceError) -> bool:
    """The request may have reached the service: the connection broke or timed out."""
    return error.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT)


def _makes_a_video(command: Request) -> bool:
    """A new video's CreateUploadVideo: RequestAuth or CallVod with no VideoId."""
    if isinstance(command, CallVod):
        return command.action is VodAction.CREATE_UPLOAD_VIDEO
    return (
        isinstance(command, RequestAuth)
        and command.video_id is None
        and command.media_kind is MediaKind.VIDEO
    )


def _local_error(code: str, message: str) -> ServiceError:
    return ServiceError(kind=ErrorKind.LOCAL, code=code, message=message)


class Performer:
    def __init__(
        self,
        *,
        transport: ObjectTransport,
        clock: Clock,
        files: Callable[[str], FileContext | None],
        vod_api_factory: VodApiFactory | None,
        auth_provider: AuthProvider | None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._files = files
        self._vod_api_factory = vod_api_factory
        self._auth_provider = auth_provider
        self.bytes_sent = 0  # part and object bodies handed to the transport (benchmarks)

    @property
    def has_auth_provider(self) -> bool:
        return self._auth_provider is not None

    def perform(self, command: Request) -> Outcome:
        command_id = command.command_id
        try:
            return self._dispatch(command)
        except TransportError as error:
            if _may_have_taken_effect(error.error):
                if _makes_a_video(command):
                    log.warning(
                        "a new video's CreateUploadVideo failed after it may have reached the "
                        "service (%s); if the service made the video, it keeps no file: the "
                        "retry makes another, and VOD offers no way to find the first "
                        "(UPL-DUR-012)",
                        error.error.code or error.error.kind.value,
                    )
                elif isinstance(command, InitiateMultipart):
                    log.warning(
                        "InitiateMultipartUpload failed after it may have reached the service "
                        "(%s); if the service opened the upload, it stays open and empty: the "
                        "upload credentials cannot list uploads, so the bucket's lifecycle "
                        "rule removes it (UPL-DUR-010)",
                        error.error.code or error.error.kind.value,
                    )
            return CommandFailed(command_id=command_id, error=error.error)
        except SourceChangedError as error:
            return CommandFailed(
                command_id=command_id, error=_local_error("SourceChanged", str(error))
            )
        except SourceError as error:
            return CommandFailed(
                command_id=command_id, error=_local_error("SourceError", str(error))
            )
        except MalformedAuthError as error:
            return CommandFailed(
                command_id=command_id,
                error=ServiceError(
                    kind=ErrorKind.SERVICE, code="InvalidUploadAuth", message=str(error)
                ),
            )
        except Exception as error:  # an auth provider's bug, or ours: never hang the core
            message = log_unexpected(
                log, error, f"request {type(command).__name__} failed unexpectedly"
            )
            return CommandFailed(
                command_id=command_id, error=_local_error(type(error).__name__, message)
            )

    def _context(self, file_id: str) -> FileContext:
        context = self._files(file_id)
        if context is None:
            raise SourceError(f"file {file_id} is no longer known to the driver")
        return context

    def _headers(self, file_id: str) -> dict[str, str]:
        # JS 1.5.x sends base64(paramData) as x-oss-notification on Initiate, Complete and
        # Put; VOD reads its callback settings from it.
        context = self._files(file_id)
        if context is None or not context.param_data:
            return {}
        return {"x-oss-notification": base64.b64encode(context.param_data.encode()).decode()}

    def _dispatch(self, command: Request) -> Outcome:
        command_id = command.command_id
        if isinstance(command, UploadPart):
            data = self._context(command.file_id).source.read(command.offset, command.length)
            part_crc = crc64(data)
            self.bytes_sent += len(data)
            part = self._transport.upload_part(
                command.target,
                command.credentials,
                upload_id=command.upload_id,
                number=command.part_number,
                data=data,
            )
            return PartUploaded(
                command_id=command_id, etag=part.etag, crc64=part_crc, server_crc64=part.crc64
            )
        if isinstance(command, VerifyPart):
            # UP-RESUME-009: the file's bytes for a part the server listed (os.pread, like a
            # part upload); the core compares the MD5 with the listed ETag.
            data = self._context(command.file_id).source.read(command.offset, command.length)
            return PartVerified(
                command_id=command_id,
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                crc64=crc64(data),
            )
        if isinstance(command, PutObject):
            data = self._context(command.file_id).source.read(0, command.size)
            object_crc = crc64(data)
            self.bytes_sent += len(data)
            try:
                stored = self._transport.put_object(
                    command.target,
                    command.credentials,
                    data=data,
                    headers=self._headers(command.file_id),
                )
            except TransportError as error:
                if _may_have_taken_effect(error.error) and self._object_is(
                    command, len(data), object_crc
                ):
                    # UPL-DRV-012: the Put landed, only its answer was lost; sending the
                    # bytes again would redo a finished video.
                    return ObjectPut(
                        command_id=command_id, crc64=object_crc, server_crc64=object_crc
                    )
                raise
            return ObjectPut(
                command_id=command_id, crc64=object_crc, server_crc64=stored.crc64, etag=stored.etag
            )
        if isinstance(command, InitiateMultipart):
            upload_id = self._transport.initiate_multipart(
                command.target, command.credentials, headers=self._headers(command.file_id)
            )
            return MultipartInitiated(command_id=command_id, upload_id=upload_id)
        if isinstance(command, ListParts):
            listed = self._transport.list_parts(
                command.target, command.credentials, command.upload_id
            )
            return PartsListed(
                command_id=command_id,
                parts=tuple(
                    ListedPart(number=p.number, etag=p.etag, size=p.size, crc64=p.crc64)
                    for p in listed
                ),
            )
        if isinstance(command, CompleteMultipart):
            stored = self._transport.complete_multipart(
                command.target,
                command.credentials,
                upload_id=command.upload_id,
                parts=command.parts,
                headers=self._headers(command.file_id),
            )
            return MultipartCompleted(
                command_id=command_id, server_crc64=stored.crc64, etag=stored.etag
            )
        if isinstance(command, AbortMultipart):
            self._abort(command)
            return MultipartAborted(command_id=command_id)
        if isinstance(command, HeadObject):
            info = self._transport.head_object(command.target, command.credentials)
            if info is None:
                return CommandFailed(
                    command_id=command_id,
                    error=ServiceError(
                        kind=ErrorKind.SERVICE, code="NoSuchKey", message="", http_status=404
                    ),
                )
            return ObjectHeaded(command_id=command_id, size=info.size, server_crc64=info.crc64)
        if isinstance(command, CallVod):
            return self._call_vod(command)
        if isinstance(command, RequestAuth):
            return self._provide_auth(command)
        raise TypeError(f"no performer for {type(command).__name__}")

    def _object_is(self, command: PutObject, size: int, crc: int) -> bool:
        """Whether the Put's target holds exactly these bytes (size and CRC-64, UPL-DRV-012);
        False when it cannot be told (no object, no CRC header, the check failing)."""
        try:
            info = self._transport.head_object(command.target, command.credentials)
        except TransportError:
            return False
        return info is not None and info.size == size and info.crc64 == crc

    def _abort(self, command: AbortMultipart) -> None:
        """Abort; if the credentials expired meanwhile and a provider can refresh the video,
        abort once more with fresh ones. A canceled file never asks the core for new
        credentials, and without this its upload would stay open on the server. A file that
        never had credentials in this process (restored from a checkpoint) gets the video's
        first (UP-CANCEL-008); with no way to get them the abort fails, to be dropped."""
        credentials = command.credentials
        if credentials is None:
            credentials = self._fresh_credentials(command.file_id)
            if credentials is None:
                raise TransportError(
                    _local_error(
                        "NoCredentialsForAbort",
                        "no credentials to abort the upload (no auth_provider, or no VideoId)",
                    )
                )
        for attempt in (1, 2):
            try:
                self._transport.abort_multipart(command.target, credentials, command.upload_id)
                return
            except TransportError as error:
                if error.error.code == "NoSuchUpload":
                    return
                fresh = None
                if attempt == 1 and _credentials_expired(error.error, credentials):
                    fresh = self._fresh_credentials(command.file_id)
                if fresh is None:
                    raise
                credentials = fresh

    def _fresh_credentials(self, file_id: str) -> Credentials | None:
        context = self._files(file_id)
        if self._auth_provider is None or context is None or context.video_id is None:
            return None
        answer = self._auth_provider(
            AuthRequest(
                file_name=context.source.name,
                file_size=context.source.size,
                is_image=False,
                video_id=context.video_id,
                vod_params=context.vod_params,
                refresh=True,
            )
        )
        if isinstance(answer, StsToken):
            if self._vod_api_factory is None:
                return None
            api = self._vod_api_factory(answer)
            try:
                answer = api.refresh_upload_video(context.video_id)
            finally:
                close = getattr(api, "close", None)
                if callable(close):
                    close()
        return decode_upload_auth(answer.upload_auth, self._clock).credentials

    def _remember_video(self, file_id: str, outcome: UploadAuthProvided) -> UploadAuthProvided:
        context = self._files(file_id)
        if context is not None and outcome.video_id and outcome.image_url is None:
            context.video_id = outcome.video_id
        return outcome

    def _call_vod(self, command: CallVod) -> Outcome:
        if self._vod_api_factory is None:
            raise TypeError("STS mode needs a VOD API factory")
        api = self._vod_api_factory(command.token)
        try:
            if command.action is VodAction.REFRESH_UPLOAD_VIDEO and command.video_id:
                grant = api.refresh_upload_video(command.video_id)
            else:
                grant = VodAuthProvider(api)(
                    AuthRequest(
                        file_name=command.file_name,
                        file_size=command.file_size,
                        is_image=command.media_kind is MediaKind.IMAGE,
                        video_id=None,
                        vod_params=self._context(command.file_id).vod_params,
                        refresh=False,
                    )
                )
        finally:
            # A client per STS token: release its connections now, not at GC time.
            close = getattr(api, "close", None)
            if callable(close):
                close()
        return self._remember_video(
            command.file_id,
            grant_to_outcome(command.command_id, grant, self._clock, media_kind=command.media_kind),
        )

    def _provide_auth(self, command: RequestAuth) -> Outcome:
        assert self._auth_provider is not None
        if command.reason is AuthReason.REFRESH and command.media_kind is MediaKind.IMAGE:
            # VOD has no RefreshUploadImage: a new CreateUploadImage would scope the new
            # credentials to another object key. Let the current ones run out instead.
            return CommandAbandoned(command_id=command.command_id)
        context = self._context(command.file_id)
        answer = self._auth_provider(
            AuthRequest(
                file_name=command.file_name,
                file_size=command.file_size,
                is_image=command.media_kind is MediaKind.IMAGE,
                video_id=command.video_id,
                vod_params=context.vod_params,
                refresh=command.video_id is not None,
            )
        )
        if isinstance(answer, StsToken):
            return StsTokenProvided(command_id=command.command_id, token=answer)
        return self._remember_video(
            command.file_id,
            grant_to_outcome(
                command.command_id, answer, self._clock, media_kind=command.media_kind
            ),
        )
