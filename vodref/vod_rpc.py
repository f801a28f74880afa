"""VOD RPC over one pooled ``requests.Session``: a lean :class:`~vodref.vod_api.VodApi`.

:class:`AcsVodApi` (aliyun-python-sdk-core) is the library made for the job and stays the
default. Per call it builds request objects, runs its retry policy and sends through its
own vendored requests stack; with many small files that was ~0.65-0.8 ms of client GIL time
per CreateUploadVideo, 12 % of the small-files benchmark's client time (py-spy, issue 12:
``bench/bench_small_files.py``). :class:`RpcVodApi` sends the same signed request (RPC
signature version 1.0, HMAC-SHA1, every parameter in the query of a POST with an empty body,
as aliyunsdkcore does; UPL-VOD-010 compares the two byte for byte) over a session that
looks the environment up once, as :class:`~vodref.transport.OssHttpTransport` does.

It does not retry: a failed call fails the file's credential request, which the uploader
retries under its own policy like any other request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from . import __version__
from .core import ErrorKind, ServiceError
from .errors import TransportError
from .transport.network import environment_proxies, network_failure, settle_environment
from .vod_api import UploadGrant, add_extra_params, grant_from_reply

__all__ = ["RpcVodApi", "rpc_signature"]

_VERSION = "2017-03-21"


def _percent(text: str) -> str:
    """RFC 3986 percent-encoding (``A-Z a-z 0-9 - _ . ~`` kept), as the RPC signature
    wants."""
    return quote(text, safe="-_.~")


def rpc_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    """RPC signature 1.0: base64 HMAC-SHA1, key ``secret + "&"``, of
    ``METHOD&%2F&pct(canonical query)``, the query sorted by name (Signature excluded)."""
    canonical = "&".join(
        f"{_percent(name)}={_percent(value)}"
        for name, value in sorted(params.items())
        if name != "Signature"
    )
    string_to_sign = f"{method}&%2F&{_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _new_nonce() -> str:
    return os.urandom(16).hex()


class RpcVodApi:
    """VOD RPC (CreateUploadVideo, RefreshUploadVideo, CreateUploadImage) signed here and
    sent with requests. Same constructor and methods as :class:`~vodref.vod_api.AcsVodApi`.

    ``endpoint`` overrides the host (``http://127.0.0.1:PORT`` for the emulator); by default
    the region's public endpoint ``vod.{region}.aliyuncs.com`` over HTTPS is used.
    ``wall_clock`` gives the request's ``Timestamp`` (Unix seconds)."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        *,
        security_token: str | None = None,
        region: str = "cn-shanghai",
        endpoint: str | None = None,
        timeout: float = 10.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._token = security_token or None
        self._region = region
        self._timeout = timeout
        self._wall_clock = wall_clock
        parts = urlsplit(
            endpoint if endpoint and "://" in endpoint else f"https://{endpoint or ''}"
        )
        host = parts.netloc if endpoint else f"vod.{region}.aliyuncs.com"
        self._url = f"{parts.scheme or 'https'}://{host}/"
        # Where requests go, for error messages (HOST:PORT only).
        self._endpoint = self._url.rstrip("/")
        self._session = requests.Session()
        settle_environment(self._session)
        self._proxies = environment_proxies(self._session, self._endpoint)
        self._agent = f"vodref/{__version__} python-requests/{requests.__version__}"

    def close(self) -> None:
        """Release the pooled connections."""
        self._session.close()

    def __enter__(self) -> RpcVodApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def signed_params(self, action: str, params: Mapping[str, str]) -> dict[str, str]:
        """The query of ``action``: its parameters, the common ones and the Signature."""
        query = dict(params)
        query.update(
            Version=_VERSION,
            Action=action,
            Format="JSON",
            RegionId=self._region,
            Timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._wall_clock())),
            SignatureMethod="HMAC-SHA1",
            SignatureType="",
            SignatureVersion="1.0",
            SignatureNonce=_new_nonce(),
            AccessKeyId=self._key_id,
        )
        if self._token:
            query["SecurityToken"] = self._token
        query["Signature"] = rpc_signature("POST", query, self._secret)
        return query

    def _send(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        query = self.signed_params(action, params)
        url = self._url + "?" + "&".join(f"{_percent(k)}={_percent(v)}" for k, v in query.items())
        try:
            response = self._session.post(
                url,
                headers={
                    "User-Agent": self._agent,
                    "Accept-Encoding": "identity",
                    "x-acs-action": action,
                    "x-acs-version": _VERSION,
                },
                timeout=self._timeout,
                proxies=self._proxies,
            )
            body = response.content
        except requests.RequestException as error:
            raise TransportError(network_failure(error, endpoint=self._endpoint)) from error
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        if response.status_code // 100 != 2:
            raise TransportError(_service_error(response.status_code, value))
        if not isinstance(value, dict):
            raise TransportError(
                ServiceError(kind=ErrorKind.SERVICE, code="MalformedResponse", message="not JSON")
            )
        return value

    def create_upload_video(
        self, *, title: str, file_name: str, file_size: int, extra: Mapping[str, Any]
    ) -> UploadGrant:
        params = {"Title": title, "FileName": file_name, "FileSize": str(file_size)}
        add_extra_params(params, extra, skip={"Title", "FileName", "FileSize"})
        return grant_from_reply(self._send("CreateUploadVideo", params))

    def refresh_upload_video(self, video_id: str) -> UploadGrant:
        grant = grant_from_reply(self._send("RefreshUploadVideo", {"VideoId": video_id}))
        return grant if grant.video_id is not None else replace(grant, video_id=video_id)

    def create_upload_image(
        self, *, image_ext: str, title: str | None, extra: Mapping[str, Any]
    ) -> UploadGrant:
        params = {"ImageType": str(extra.get("ImageType", "default")), "ImageExt": image_ext}
        if title:
            params["Title"] = title
        add_extra_params(params, extra, skip={"ImageType", "ImageExt", "Title"})
        return grant_from_reply(self._send("CreateUploadImage", params))


def _service_error(status: int, value: object) -> ServiceError:
    """A non-2xx reply as core data: the service's ``Code``/``Message``/``RequestId``, as
    aliyunsdkcore's ``ServerException`` carries them."""
    fields = value if isinstance(value, dict) else {}
    code = fields.get("Code")
    request_id = fields.get("RequestId")
    return ServiceError(
        kind=ErrorKind.SERVICE,
        code=str(code) if code else f"HTTP{status}",
        message=str(fields.get("Message") or ""),
        http_status=status if 100 <= status <= 599 else None,
        request_id=str(request_id) if request_id else None,
    )
