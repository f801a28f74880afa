"""The JS SDK's credential methods of :class:`vodref.api.Vod`, which delegates to
:class:`CredentialCalls`.

``setUploadAuthAndAddress``, ``setSTSToken``, ``setSTSTokenDirectlyUpload``,
``resumeUploadWithAuth`` and ``resumeUploadWithSTSToken`` all do one thing: answer the
credential request the core has open for a file (from ``on_upload_started`` or
``on_upload_token_expired``). They live apart from the rest of the uploader because that
is a concern of its own: decoding and validating what the application hands over, and
finding which file is waiting. Malformed input raises before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clock import Clock
from ..core import (
    FileView,
    InvalidOptionError,
    RequestAuth,
    StsToken,
    StsTokenProvided,
    UploadAuthProvided,
    UsageError,
)
from ..driver import Driver
from ..upload_auth import decode_upload_address, decode_upload_auth, wall_to_monotonic

__all__ = ["CredentialCalls", "FileRef"]

#: How the JS API names a file: its index in the list, its file id, or its snapshot.
FileRef = int | str | FileView


class CredentialCalls:
    """Answers the credential request a file has open with the driver.

    ``resolve`` turns a :data:`FileRef` into a file id (raising ``UnknownFileError``);
    ``check_open`` raises ``UploaderClosedError`` once the uploader is closed."""

    def __init__(
        self,
        *,
        clock: Clock,
        driver: Driver,
        resolve: Callable[[FileRef], str],
        check_open: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._driver = driver
        self._resolve = resolve
        self._check_open = check_open

    def set_upload_auth_and_address(
        self,
        upload_info: FileRef,
        upload_auth: str,
        upload_address: str | None,
        video_id: str | None = None,
    ) -> None:
        """JS ``setUploadAuthAndAddress(uploadInfo, uploadAuth, uploadAddress, videoId)``,
        normally from ``on_upload_started``. Malformed values raise
        :class:`~vodref.errors.MalformedAuthError` and change nothing."""
        self._check_open()
        file_id = self._resolve(upload_info)
        decoded = decode_upload_auth(upload_auth, self._clock)
        address = None if upload_address is None else decode_upload_address(upload_address)
        self._answer(
            file_id,
            lambda request: UploadAuthProvided(
                command_id=request.command_id,
                credentials=decoded.credentials,
                address=address,
                video_id=video_id,
            ),
        )

    def set_sts_token(
        self,
        upload_info: FileRef,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
    ) -> None:
        """JS ``setSTSToken(uploadInfo, accessKeyId, accessKeySecret, securityToken)``: the
        uploader calls VOD itself with these credentials. ``expiration`` (Unix time) enables
        proactive refresh."""
        self._check_open()
        file_id = self._resolve(upload_info)
        token = self._sts_token(access_key_id, access_key_secret, security_token, expiration)
        self._answer(
            file_id, lambda request: StsTokenProvided(command_id=request.command_id, token=token)
        )

    def set_sts_token_directly_upload(
        self,
        upload_info: FileRef,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
    ) -> None:
        """JS ``setSTSTokenDirectlyUpload``: upload straight to the ``add_file`` endpoint,
        bucket and object with STS credentials; no VOD call."""
        self._check_open()
        file_id = self._resolve(upload_info)
        token = self._sts_token(access_key_id, access_key_secret, security_token, expiration)
        self._answer(
            file_id,
            lambda request: StsTokenProvided(
                command_id=request.command_id, token=token, direct=True
            ),
        )

    def resume_upload_with_auth(
        self,
        upload_auth: str,
        upload_address: str | None = None,
        *,
        file: FileRef | None = None,
    ) -> None:
        """JS ``resumeUploadWithAuth(uploadAuth)`` after ``on_upload_token_expired``: same
        object, same multipart upload; parts already sent are not sent again.

        Images (beyond JS, UP-API-017): VOD has no RefreshUploadImage, and the credentials of
        a new CreateUploadImage only write the new image's key, so pass its
        ``upload_address`` too; the image then starts over on the new key (the old upload is
        aborted). For a video the address is ignored: its key never changes."""
        self._check_open()
        decoded = decode_upload_auth(upload_auth, self._clock)
        address = None if upload_address is None else decode_upload_address(upload_address)
        file_id = self._expired_file(file)
        self._answer(
            file_id,
            lambda request: UploadAuthProvided(
                command_id=request.command_id, credentials=decoded.credentials, address=address
            ),
        )

    def resume_upload_with_token(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
        *,
        file: FileRef | None = None,
    ) -> None:
        """JS ``resumeUploadWithToken(ak, sk, token, expiration)``: the fields of an
        UploadAuth given one by one (``expiration`` in Unix time). Same upload, no VOD call:
        unlike ``resume_upload_with_sts_token``, which calls RefreshUploadVideo with an
        application STS token (UP-API-011)."""
        self._check_open()
        token = self._sts_token(access_key_id, access_key_secret, security_token, expiration)
        credentials = token.as_credentials()
        file_id = self._expired_file(file)
        self._answer(
            file_id,
            lambda request: UploadAuthProvided(
                command_id=request.command_id, credentials=credentials
            ),
        )

    def resume_upload_with_sts_token(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None = None,
        *,
        file: FileRef | None = None,
    ) -> None:
        """JS ``resumeUploadWithSTSToken(ak, sk, token)``: refreshes the video's credentials
        through RefreshUploadVideo with the new STS token (broken in JS 1.5.x) and
        continues the same multipart upload."""
        self._check_open()
        token = self._sts_token(access_key_id, access_key_secret, security_token, expiration)
        file_id = self._expired_file(file)
        self._answer(
            file_id, lambda request: StsTokenProvided(command_id=request.command_id, token=token)
        )

    def _sts_token(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expiration: float | None,
    ) -> StsToken:
        for label, value in (
            ("access_key_id", access_key_id),
            ("access_key_secret", access_key_secret),
            ("security_token", security_token),
        ):
            if not isinstance(value, str) or not value:
                raise InvalidOptionError(f"{label} must be a non-empty string")
        return StsToken(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            security_token=security_token,
            expires_at=wall_to_monotonic(expiration, self._clock),
        )

    def _expired_file(self, file: FileRef | None) -> str:
        if file is not None:
            return self._resolve(file)
        waiting = self._driver.awaiting_auth_any()
        expired = [r for r in waiting if r.reason.value == "expired"] or waiting
        if not expired:
            raise UsageError("no upload is waiting for new credentials")
        return expired[0].file_id

    def _answer(self, file_id: str, build: Callable[[RequestAuth], Any]) -> None:
        try:
            self._driver.answer_auth(file_id, build)
        except LookupError:
            raise UsageError(
                f"file {file_id} is not waiting for credentials (call this from "
                "on_upload_started or on_upload_token_expired)"
            ) from None
