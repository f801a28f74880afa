"""Test support for the pure core: an in-memory OSS + VOD model and a scripted driver.

The model is deliberately simple and strict: it is the oracle the core is checked against.
The driver performs the core's requests against it; tests decide which request completes,
fails or is abandoned, and when timers fire. Shared by tests/core and tests/stateful.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastcrc import crc64

from vodref.core import (
    AbortMultipart,
    AddFile,
    AuthReason,
    CallVod,
    Checkpoint,
    Command,
    CommandAbandoned,
    CommandFailed,
    CompleteMultipart,
    Credentials,
    ErrorKind,
    HeadObject,
    InitiateMultipart,
    ListedPart,
    ListParts,
    MediaKind,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    Notify,
    NotifyProgress,
    ObjectHeaded,
    ObjectPut,
    ObjectTarget,
    Outcome,
    PartsListed,
    PartUploaded,
    PartVerified,
    PutObject,
    Request,
    RequestAuth,
    SaveCheckpoint,
    ServiceError,
    StsToken,
    StsTokenProvided,
    UploadAuthProvided,
    Uploader,
    UploaderOptions,
    UploadPart,
    VerifyPart,
    VodAction,
)

ENDPOINT = "https://oss-cn-shanghai.example"
BUCKET = "vod-bucket"


def make_data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def crc_of(data: bytes) -> int:
    return int(crc64.xz(data))


def service_error(code: str, status: int | None = None) -> ServiceError:
    return ServiceError(kind=ErrorKind.SERVICE, code=code, message=code, http_status=status)


RETRYABLE = ServiceError(kind=ErrorKind.SERVICE, code="InternalError", http_status=500)
FATAL = ServiceError(kind=ErrorKind.SERVICE, code="AccessDenied", http_status=403)
EXPIRED = ServiceError(kind=ErrorKind.SERVICE, code="SecurityTokenExpired", http_status=403)
TIMEOUT = ServiceError(kind=ErrorKind.TIMEOUT, code="ConnectionTimeoutError")


@dataclass
class Upload:
    key: str
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)


@dataclass
class OssModel:
    """Objects, open multipart uploads and VOD media records, all in memory."""

    objects: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    videos: dict[str, str] = field(default_factory=dict)  # video id -> file name
    completes: int = 0
    _next: int = 0

    def _id(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}{self._next:04d}"

    # VOD
    def create_video(self, name: str, image: bool = False) -> tuple[str, ObjectTarget]:
        video_id = self._id("img" if image else "vid")
        self.videos[video_id] = name
        return video_id, self.address(video_id)

    def address(self, video_id: str) -> ObjectTarget:
        return ObjectTarget(endpoint=ENDPOINT, bucket=BUCKET, key=f"sv/{video_id}/media")

    # OSS
    def initiate(self, key: str) -> str:
        upload_id = self._id("up")
        self.uploads[upload_id] = Upload(key=key)
        return upload_id

    def upload_part(self, upload_id: str, number: int, data: bytes) -> str | None:
        upload = self.uploads.get(upload_id)
        if upload is None:
            return None
        etag = hashlib.md5(data).hexdigest().upper()
        upload.parts[number] = (data, etag)
        return etag

    def complete(self, upload_id: str, parts: Iterable[tuple[int, str]]) -> int | None:
        upload = self.uploads.get(upload_id)
        if upload is None:
            return None
        body = b""
        for number, etag in parts:
            data, stored = upload.parts[number]
            assert stored == etag, "Complete names an ETag the server does not have"
            body += data
        del self.uploads[upload_id]
        self.objects[upload.key] = body
        self.completes += 1
        return crc_of(body)

    def open_uploads_for(self, key: str) -> list[str]:
        return [uid for uid, upload in self.uploads.items() if upload.key == key]


class ScriptedDriver:
    """Performs the core's requests against an :class:`OssModel`, one call at a time.

    ``pending`` holds requests awaiting an outcome in issue order; ``log`` every command the
    core returned; ``notes`` the Notify commands; ``checkpoints`` every SaveCheckpoint.
    """

    def __init__(
        self,
        options: UploaderOptions | None = None,
        *,
        model: OssModel | None = None,
        sts: bool = False,
        random_source: random.Random | None = None,
        credentials_ttl: float | None = None,
    ) -> None:
        self.core = Uploader(options, random=(random_source or random.Random(0)).random)
        self.model = model or OssModel()
        self.sources: dict[str, bytes] = {}
        self.pending: list[Request] = []
        self.log: list[Command] = []
        self.notes: list[Notify] = []
        self.checkpoints: list[SaveCheckpoint] = []
        self.now = 0.0
        self.sts = sts
        self.credentials_ttl = credentials_ttl
        self._key_counter = 0

    # ------------------------------------------------------------------ feeding the core

    def feed(self, commands: list[Command]) -> list[Command]:
        for command in commands:
            self.log.append(command)
            if isinstance(command, Request):
                self.pending.append(command)
            elif isinstance(command, Notify):
                self.notes.append(command)
            elif isinstance(command, SaveCheckpoint):
                self.checkpoints.append(command)
        return commands

    def send(self, event: object) -> list[Command]:
        return self.feed(self.core.handle(event, now=self.now))  # type: ignore[arg-type]

    def add(
        self,
        file_id: str,
        data: bytes,
        *,
        media_kind: MediaKind = MediaKind.VIDEO,
        checkpoint: Checkpoint | None = None,
        **extra: object,
    ) -> list[Command]:
        self.sources[file_id] = data
        return self.send(
            AddFile(
                file_id=file_id,
                name=f"{file_id}.jpg" if media_kind is MediaKind.IMAGE else f"{file_id}.mp4",
                size=len(data),
                fingerprint=f"fp-{file_id}-{crc_of(data):016x}",
                media_kind=media_kind,
                checkpoint=checkpoint,
                **extra,  # type: ignore[arg-type]
            )
        )

    def tick(self, seconds: float = 0.0) -> list[Command]:
        self.now += seconds
        return self.feed(self.core.handle_timer(self.now))

    def to_deadline(self) -> list[Command]:
        deadline = self.core.next_deadline()
        assert deadline is not None
        self.now = max(self.now, deadline)
        return self.feed(self.core.handle_timer(self.now))

    def until(self, kind: type[Request]) -> Request:
        """Fire deadlines until a request of ``kind`` is pending; return it (still pending)."""
        while not self.has(kind):
            self.to_deadline()
        return next(c for c in self.pending if isinstance(c, kind))

    # ------------------------------------------------------------------ credentials

    def credentials(self) -> Credentials:
        expires = None if self.credentials_ttl is None else self.now + self.credentials_ttl
        return Credentials(
            access_key_id="STS.id",
            access_key_secret="secret",
            security_token="token",
            expires_at=expires,
        )

    def sts_token(self) -> StsToken:
        return StsToken(access_key_id="STS.app", access_key_secret="s", security_token="t")

    # ------------------------------------------------------------------ outcomes

    def take(self, kind: type[Request] | None = None, file_id: str | None = None) -> Request:
        for command in self.pending:
            if (kind is None or isinstance(command, kind)) and (
                file_id is None or command.file_id == file_id
            ):
                self.pending.remove(command)
                return command
        raise AssertionError(f"no pending {kind} for {file_id}: {self.pending}")

    def has(self, kind: type[Request], file_id: str | None = None) -> bool:
        return any(
            isinstance(c, kind) and (file_id is None or c.file_id == file_id) for c in self.pending
        )

    def success_of(self, command: Request) -> Outcome:
        """Perform ``command`` against the model and build its success outcome."""
        model = self.model
        cid = command.command_id
        if isinstance(command, RequestAuth):
            if self.sts:
                return StsTokenProvided(command_id=cid, token=self.sts_token())
            if command.video_id is None or command.media_kind is MediaKind.IMAGE:
                video_id, address = model.create_video(
                    command.file_name, command.media_kind is MediaKind.IMAGE
                )
            else:
                video_id, address = command.video_id, model.address(command.video_id)
            return UploadAuthProvided(
                command_id=cid,
                credentials=self.credentials(),
                address=address,
                video_id=video_id,
            )
        if isinstance(command, CallVod):
            if command.action is VodAction.REFRESH_UPLOAD_VIDEO:
                assert command.video_id is not None
                video_id, address = command.video_id, model.address(command.video_id)
            else:
                video_id, address = model.create_video(
                    command.file_name, command.action is VodAction.CREATE_UPLOAD_IMAGE
                )
            return UploadAuthProvided(
                command_id=cid,
                credentials=self.credentials(),
                address=address,
                video_id=video_id,
            )
        data = self.sources[command.file_id]
        if isinstance(command, PutObject):
            model.objects[command.target.key] = data
            return ObjectPut(command_id=cid, crc64=crc_of(data), server_crc64=crc_of(data))
        if isinstance(command, InitiateMultipart):
            return MultipartInitiated(command_id=cid, upload_id=model.initiate(command.target.key))
        if isinstance(command, UploadPart):
            chunk = data[command.offset : command.offset + command.length]
            etag = model.upload_part(command.upload_id, command.part_number, chunk)
            if etag is None:
                return CommandFailed(command_id=cid, error=service_error("NoSuchUpload", 404))
            return PartUploaded(
                command_id=cid, etag=etag, crc64=crc_of(chunk), server_crc64=crc_of(chunk)
            )
        if isinstance(command, ListParts):
            upload = model.uploads.get(command.upload_id)
            if upload is None:
                return CommandFailed(command_id=cid, error=service_error("NoSuchUpload", 404))
            return PartsListed(
                command_id=cid,
                parts=tuple(
                    ListedPart(number=n, etag=f'"{etag}"', size=len(body))
                    for n, (body, etag) in sorted(upload.parts.items())
                ),
            )
        if isinstance(command, CompleteMultipart):
            crc = model.complete(command.upload_id, command.parts)
            if crc is None:
                return CommandFailed(command_id=cid, error=service_error("NoSuchUpload", 404))
            return MultipartCompleted(command_id=cid, server_crc64=crc)
        if isinstance(command, AbortMultipart):
            model.uploads.pop(command.upload_id, None)
            return MultipartAborted(command_id=cid)
        if isinstance(command, VerifyPart):
            chunk = data[command.offset : command.offset + command.length]
            return PartVerified(
                command_id=cid, md5=hashlib.md5(chunk).hexdigest(), crc64=crc_of(chunk)
            )
        if isinstance(command, HeadObject):
            body = model.objects.get(command.target.key)
            if body is None:
                return CommandFailed(command_id=cid, error=service_error("NoSuchKey", 404))
            return ObjectHeaded(command_id=cid, size=len(body), server_crc64=crc_of(body))
        raise AssertionError(f"unknown request {command!r}")

    def complete(self, command: Request) -> list[Command]:
        if command in self.pending:
            self.pending.remove(command)
        return self.send(self.success_of(command))

    def apply_then_fail(self, command: Request, error: ServiceError = TIMEOUT) -> list[Command]:
        """The request took effect on the server but its answer was lost."""
        if command in self.pending:
            self.pending.remove(command)
        self.success_of(command)
        return self.send(CommandFailed(command_id=command.command_id, error=error))

    def fail(self, command: Request, error: ServiceError) -> list[Command]:
        if command in self.pending:
            self.pending.remove(command)
        return self.send(CommandFailed(command_id=command.command_id, error=error))

    def abandon(self, command: Request) -> list[Command]:
        if command in self.pending:
            self.pending.remove(command)
        return self.send(CommandAbandoned(command_id=command.command_id))

    def run(self, *, max_steps: int = 100_000, refresh: bool = True) -> None:
        """Complete every request and fire every timer until the core is idle."""
        for _ in range(max_steps):
            if self.pending:
                command = self.pending[0]
                if (
                    isinstance(command, RequestAuth)
                    and command.reason is AuthReason.REFRESH
                    and not refresh
                ):
                    self.abandon(command)
                else:
                    self.complete(command)
            elif self.core.next_deadline() is not None:
                self.to_deadline()
            else:
                return
        raise AssertionError("the core did not become idle")

    # ------------------------------------------------------------------ views

    def progress(self, file_id: str) -> list[NotifyProgress]:
        return [n for n in self.notes if isinstance(n, NotifyProgress) and n.file_id == file_id]

    def note_names(self) -> list[str]:
        return [type(n).__name__ for n in self.notes]

    def state(self, file_id: str) -> str:
        return self.core.file(file_id).state.value
