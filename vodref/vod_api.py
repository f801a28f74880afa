"""VOD OpenAPI calls (CreateUploadVideo, RefreshUploadVideo, CreateUploadImage) and the
auth-provider hook built on them.

:class:`AcsVodApi` signs RPC requests with aliyunsdkcore (long-term AccessKey for
AppServer-style use, or STS credentials for the JS SDK's STS mode). An
:class:`AuthProvider` is what the uploader calls when a file needs credentials, so a Python
user needs no ``on_upload_started`` callback at all; :class:`VodAuthProvider` is the
ready-made one: RefreshUploadVideo when the file already has a VideoId (resume: no
duplicate video), CreateUploadImage for images, CreateUploadVideo otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321.CreateUploadImageRequest import CreateUploadImageRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from aliyunsdkvod.request.v20170321.RefreshUploadVideoRequest import RefreshUploadVideoRequest

from .core import ErrorKind, ServiceError, StsToken
from .errors import TransportError
from .transport.network import network_failure, network_failure_from_text

__all__ = [
    "AcsVodApi",
    "AuthProvider",
    "AuthRequest",
    "UploadGrant",
    "VodApi",
    "VodAuthProvider",
    "grant_from_reply",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadGrant:
    """What VOD hands out for one media file: base64 UploadAuth and UploadAddress."""

    upload_auth: str = field(repr=False)
    upload_address: str
    video_id: str | None = None
    image_id: str | None = None
    image_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRequest:
    """Why credentials are needed, for which file.

    ``video_id`` is set when the file already has a video (a resume or a refresh): the
    provider must then refresh that video, never create a new one.
    """

    file_name: str
    file_size: int
    is_image: bool
    video_id: str | None
    vod_params: Mapping[str, Any]
    refresh: bool


class AuthProvider(Protocol):
    """Called on a worker thread whenever a file needs credentials.

    Return an :class:`UploadGrant` (UploadAuth mode) or a :class:`~vodref.core.values.StsToken`
    (STS mode: the uploader then calls VOD itself). Exceptions fail the file's request
    (retried or failed like any other error); they never break the uploader."""

    def __call__(self, request: AuthRequest) -> UploadGrant | StsToken: ...


class VodApi(Protocol):
    def create_upload_video(
        self, *, title: str, file_name: str, file_size: int, extra: Mapping[str, Any]
    ) -> UploadGrant: ...

    def refresh_upload_video(self, video_id: str) -> UploadGrant: ...

    def create_upload_image(
        self, *, image_ext: str, title: str | None, extra: Mapping[str, Any]
    ) -> UploadGrant: ...


def _vod_error(error: BaseException, endpoint: str) -> ServiceError:
    """An aliyunsdkcore exception as core data. A network failure's message is built from
    ``endpoint`` and the cause only (:mod:`vodref.transport.network`): aliyunsdkcore's
    ``ClientException`` text holds the signed query (Signature, AccessKeyId, SecurityToken)."""
    if isinstance(error, ServerException):
        status = error.get_http_status()
        return ServiceError(
            kind=ErrorKind.SERVICE,
            code=str(error.get_error_code() or "ServerError"),
            message=str(error.get_error_msg() or ""),
            http_status=int(status) if status and 100 <= int(status) <= 599 else None,
            request_id=error.get_request_id() or None,
        )
    if isinstance(error, ClientException):
        text = str(error.get_error_msg() or "")
        if error.get_error_code() == _SDK_HTTP_ERROR:
            return network_failure_from_text(text, endpoint=endpoint)
        # Other client errors are aliyunsdkcore's own checks (a missing parameter, an
        # unknown region...): short texts of its own, no request line.
        kind = ErrorKind.TIMEOUT if "timed out" in text.lower() else ErrorKind.NETWORK
        return ServiceError(kind=kind, code=str(error.get_error_code()), message=text)
    if isinstance(error, OSError):
        return network_failure(error, endpoint=endpoint)
    return ServiceError(kind=ErrorKind.LOCAL, code=type(error).__name__, message=str(error))


_SDK_HTTP_ERROR = "SDK.HttpError"


def grant_from_reply(value: Mapping[str, Any]) -> UploadGrant:
    """The grant a CreateUploadVideo/RefreshUploadVideo/CreateUploadImage reply carries; a
    reply without UploadAuth and UploadAddress is the service's failure."""
    auth, address = value.get("UploadAuth"), value.get("UploadAddress")
    if not isinstance(auth, str) or not isinstance(address, str):
        raise TransportError(
            ServiceError(
                kind=ErrorKind.SERVICE,
                code="GetUploadAuthFailed",
                message="reply has no UploadAuth/UploadAddress",
            )
        )
    return UploadGrant(
        upload_auth=auth,
        upload_address=address,
        video_id=value.get("VideoId"),
        image_id=value.get("ImageId"),
        image_url=value.get("ImageURL"),
    )


class AcsVodApi:
    """VOD RPC through aliyun-python-sdk-core / aliyun-python-sdk-vod.

    ``endpoint`` overrides the host (``http://127.0.0.1:PORT`` for the emulator); by default
    the region's public endpoint ``vod.{region}.aliyuncs.com`` over HTTPS is used.
    """

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        security_token: str | None = None,
        region: str = "cn-shanghai",
        endpoint: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        credential: Any
        if security_token:
            credential = StsTokenCredential(access_key_id, access_key_secret, security_token)
        else:
            credential = AccessKeyCredential(access_key_id, access_key_secret)
        self._client = AcsClient(
            region_id=region,
            credential=credential,
            auto_retry=True,
            max_retry_time=3,
            connect_timeout=timeout,
            timeout=timeout,
        )
        session = getattr(self._client, "session", None)
        if session is not None:
            # aliyunsdkcore reads HTTP(S)_PROXY itself and sends prepared requests, so the
            # only thing trust_env adds is a ~/.netrc lookup on every call (issue 12's
            # profile: os.path.exists per request). Signed RPC needs no netrc credentials.
            session.trust_env = False
        self._host: str | None = None
        self._scheme = "https"
        if endpoint:
            parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            self._host = parts.netloc
            self._scheme = parts.scheme or "https"
        # Where requests go, for error messages (HOST:PORT only).
        self._endpoint = f"{self._scheme}://{self._host or f'vod.{region}.aliyuncs.com'}"

    def close(self) -> None:
        """Release the client's pooled connections."""
        session = getattr(self._client, "session", None)
        if session is not None:
            session.close()

    def __enter__(self) -> AcsVodApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, request: Any) -> dict[str, Any]:
        if self._host:
            request.set_endpoint(self._host)
        request.set_protocol_type(self._scheme)
        request.set_accept_format("JSON")
        try:
            raw = self._client.do_action_with_exception(request)
        except Exception as error:
            raise TransportError(_vod_error(error, self._endpoint)) from error
        try:
            value = json.loads(raw)
        except ValueError as error:
            raise TransportError(
                ServiceError(kind=ErrorKind.SERVICE, code="MalformedResponse", message=str(error))
            ) from error
        if not isinstance(value, dict):
            raise TransportError(
                ServiceError(kind=ErrorKind.SERVICE, code="MalformedResponse", message="not JSON")
            )
        return value

    def create_upload_video(
        self, *, title: str, file_name: str, file_size: int, extra: Mapping[str, Any]
    ) -> UploadGrant:
        request = CreateUploadVideoRequest()
        request.set_Title(title)
        request.set_FileName(file_name)
        request.set_FileSize(file_size)
        _add_extra(request, extra, skip={"Title", "FileName", "FileSize"})
        return grant_from_reply(self._send(request))

    def refresh_upload_video(self, video_id: str) -> UploadGrant:
        request = RefreshUploadVideoRequest()
        request.set_VideoId(video_id)
        grant = grant_from_reply(self._send(request))
        return grant if grant.video_id is not None else replace(grant, video_id=video_id)

    def create_upload_image(
        self, *, image_ext: str, title: str | None, extra: Mapping[str, Any]
    ) -> UploadGrant:
        request = CreateUploadImageRequest()
        request.set_ImageType(str(extra.get("ImageType", "default")))
        request.set_ImageExt(image_ext)
        if title:
            request.set_Title(title)
        _add_extra(request, extra, skip={"ImageType", "ImageExt", "Title"})
        return grant_from_reply(self._send(request))


def _add_extra(request: Any, extra: Mapping[str, Any], skip: set[str]) -> None:
    params: dict[str, str] = {}
    add_extra_params(params, extra, skip)
    for name, text in params.items():
        request.add_query_param(name, text)


def add_extra_params(params: dict[str, str], extra: Mapping[str, Any], skip: set[str]) -> None:
    """The ``param_data`` fields as query parameters (objects and lists as JSON)."""
    for name, value in extra.items():
        if name in skip or value is None:
            continue
        params[name] = json.dumps(value) if isinstance(value, dict | list) else str(value)


class VodAuthProvider:
    """The ready-made AppServer-side provider over a :class:`VodApi`.

    Title defaults to the file name without its extension; ``vod_params`` from the file's
    ``param_data`` (the JS ``{"Vod": {...}}``) are passed through (CateId, Tags, ...).
    """

    def __init__(self, api: VodApi) -> None:
        self.api = api

    def __call__(self, request: AuthRequest) -> UploadGrant:
        params = dict(request.vod_params)
        title = str(params.pop("Title", "") or os.path.splitext(request.file_name)[0] or "video")
        if request.video_id and not request.is_image:
            return self.api.refresh_upload_video(request.video_id)
        if request.is_image:
            ext = os.path.splitext(request.file_name)[1].lstrip(".").lower() or "png"
            return self.api.create_upload_image(
                image_ext=str(params.pop("ImageExt", ext)), title=title, extra=params
            )
        return self.api.create_upload_video(
            title=title,
            file_name=request.file_name,
            file_size=request.file_size,
            extra=params,
        )
