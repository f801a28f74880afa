"""OSS over HTTP, signed by oss2, with CRC-64 verified by vodref instead of oss2.

oss2 signs and sends; its own CRC path is switched off (``enable_crc=False``) because it
wraps the body in a per-8 KiB crcmod adapter that holds the GIL at ~340 MiB/s and combines
part CRCs in pure Python at ~10 ms a part. We
hand requests the part as ``bytes`` and return the service's ``x-oss-hash-crc64ecma``; the
driver computes the CRC of what it sent in one C call and the core compares the two.
UploadPart alone skips oss2's request layers (signed by oss2, sent with requests: measured
per-part interpreter cost, UPL-TRN-006; see ``_put_part``).

Retries are not done here: the core owns the policy. oss2 itself does not retry requests.
Proxies and CA bundles from the environment are honoured, but looked up once per endpoint
instead of on every request: the session runs with ``trust_env = False`` (requests would
otherwise read the proxy variables, ``NO_PROXY`` and ``~/.netrc`` for each request, 8 % of
the uploader's GIL time with 100 KiB parts, issue 12) and each ``oss2.Bucket`` is given
``requests.utils.get_environ_proxies(endpoint)`` (``HTTP(S)_PROXY``, ``ALL_PROXY``,
``NO_PROXY``) when it is made; ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` is read once, when
the transport is made (UPL-NET-001). A ``.netrc`` is never consulted: every OSS request carries
its own signature.

One exception, as ali-oss's ``correctClockSkew``: a ``RequestTimeTooSkewed`` reply makes the
transport adopt the server's clock from the reply's ``Date`` and send the request once more,
signed with the corrected time (UP-SKEW-001); the offset is kept for later requests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import oss2
import requests
from defusedxml import ElementTree

from ..core import Credentials, ErrorKind, InvalidOptionError, ObjectTarget, ServiceError
from ..errors import TransportError
from .base import ObjectInfo, PartInfo, StoredObject, UploadedPart
from .network import environment_proxies, network_failure, settle_environment

__all__ = ["OssHttpTransport", "classify_oss_exception"]

_LIST_PARTS_PAGE = 1000
_MAX_CACHED_BUCKETS = 64


def classify_oss_exception(error: BaseException, *, endpoint: str | None = None) -> ServiceError:
    """An oss2/requests exception as core data: network, timeout or the service's code.

    A network failure's message names only ``HOST:PORT`` and the cause
    (:func:`~vodref.transport.network.network_failure`): the library's own text holds the
    signed URL, so it never becomes the message."""
    if isinstance(error, oss2.exceptions.RequestError):
        inner = getattr(error, "exception", None)
        return network_failure(inner if inner is not None else error, endpoint=endpoint)
    if isinstance(error, oss2.exceptions.OssError):
        status = error.status if 100 <= int(error.status) <= 599 else None
        code = error.code or (f"HTTP{status}" if status else "UnknownError")
        return ServiceError(
            kind=ErrorKind.SERVICE,
            code=str(code),
            message=str(error.message or ""),
            http_status=status,
            request_id=str(error.request_id) if error.request_id else None,
        )
    if isinstance(error, requests.RequestException | ConnectionError | TimeoutError):
        return network_failure(error, endpoint=endpoint)
    return ServiceError(kind=ErrorKind.LOCAL, code=type(error).__name__, message=str(error))


def _server_crc(headers: Mapping[str, str]) -> int | None:
    value = headers.get("x-oss-hash-crc64ecma")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _server_time(headers: Mapping[str, str] | None) -> float | None:
    """The reply's ``Date`` as Unix time, or None when it is missing or malformed."""
    value = headers.get("Date") or headers.get("date") if headers else None
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class _ClockedAuth(oss2.ProviderAuth):  # type: ignore[misc]
    """oss2's V1 signature (what ``oss2.Auth`` / ``oss2.StsAuth`` send), dated by ``now``
    instead of the local clock, so a corrected clock skew applies to every request."""

    def __init__(
        self, key_id: str, secret: str, token: str | None, now: Callable[[], float]
    ) -> None:
        super().__init__(oss2.credentials.StaticCredentialsProvider(key_id, secret, token))
        self._now = now

    def _sign_request(self, req: Any, bucket_name: str, key: str) -> None:
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers["x-oss-security-token"] = credentials.get_security_token()
        req.headers["date"] = oss2.utils.http_date(int(self._now()))
        # oss2 keeps the V1 string-to-sign private; the emulator checks every signature,
        # so an oss2 that changed it fails the transport tests, not users.
        signature = self._ProviderAuth__make_signature(req, bucket_name, key, credentials)
        req.headers["authorization"] = f"OSS {credentials.get_access_key_id()}:{signature}"


class _ClockedAuthV4(oss2.ProviderAuthV4):  # type: ignore[misc]
    """oss2's Signature V4 (``oss2.ProviderAuthV4``: scoped to the bucket's region and the
    product ``oss``), dated by ``now`` as :class:`_ClockedAuth` is. Used when the transport
    is given a ``region`` (UPL-TRN-007). Every step but the date is oss2's own."""

    def __init__(
        self, key_id: str, secret: str, token: str | None, now: Callable[[], float]
    ) -> None:
        super().__init__(oss2.credentials.StaticCredentialsProvider(key_id, secret, token))
        self._now = now

    def _sign_request(
        self, req: Any, bucket_name: str, key: str, in_additional_headers: Any = None
    ) -> None:
        if req.region is None:
            raise oss2.exceptions.ClientError("The region should not be None in signature V4.")
        credentials = self.credentials_provider.get_credentials()
        if credentials.get_security_token():
            req.headers["x-oss-security-token"] = credentials.get_security_token()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(self._now())))
        req.headers["x-oss-date"] = stamp
        req.headers["x-oss-content-sha256"] = "UNSIGNED-PAYLOAD"
        # As for V1, oss2 keeps these steps private; the emulator verifies V4 (scope, region).
        extra = self._ProviderAuthV4__get_additional_signed_headers(in_additional_headers)
        scope = self._ProviderAuthV4__get_scope(stamp[:8], req)
        signature = self._ProviderAuthV4__make_signature(
            req, bucket_name, key, extra, credentials, stamp
        )
        authorization = (
            f"OSS4-HMAC-SHA256 Credential={credentials.get_access_key_id()}/{scope}, "
            f"Signature={signature}"
        )
        if extra:
            authorization += f", AdditionalHeaders={';'.join(extra)}"
        req.headers["authorization"] = authorization


class _PartRequest:
    """What oss2's auth reads to sign a request (``oss2.http.Request``'s ``method``,
    ``headers`` and ``params``), without that class's per-request debug formatting."""

    __slots__ = ("headers", "method", "params")

    def __init__(self, method: str, params: dict[str, str], app_name: str) -> None:
        self.method = method
        self.params = params
        # As oss2.http.Request: no Accept-Encoding (requests drops a None header), oss2's UA.
        agent = oss2.http.USER_AGENT + (f"/{app_name}" if app_name else "")
        self.headers = oss2.CaseInsensitiveDict({"Accept-Encoding": None, "User-Agent": agent})


def _put_part(bucket: Any, key: str, upload_id: str, number: int, data: bytes) -> Any:
    """UploadPart: oss2's URL, oss2's signature, oss2's error mapping, sent with requests.

    ``bucket.upload_part`` goes through four layers (Bucket, Request, Session, Response)
    that format debug messages eagerly and wrap the reply. At 1 MiB parts vodref's upload
    threads spent ~0.26 ms of interpreter time a part more than a bare requests uploader
    (perf, issue 12); these layers were ~0.05-0.07 ms of it (0.60 -> 0.55 ms of CPU a
    1 KiB part against the emulator, in one thread). This path keeps what they do to the wire:
    the same URL (``bucket._make_url``), query, headers, signature (the bucket's auth) and
    timeout/proxies; a non-2xx reply becomes the same ``oss2.exceptions`` error through
    ``oss2.exceptions.make_exception``, and a requests failure the same
    ``oss2.exceptions.RequestError``. Returns the reply's headers.

    Only oss2's V1 signature (:class:`_ClockedAuth`) is made here: any other auth (V4,
    whose scope needs the request's region and product) goes through oss2's own
    ``Bucket.upload_part``, which signs it as it signs every other request (UPL-TRN-007)."""
    if type(bucket.auth) is not _ClockedAuth:
        return bucket.upload_part(key, upload_id, number, data).headers
    params = {"uploadId": upload_id, "partNumber": str(number)}
    request = _PartRequest("PUT", params, bucket.app_name)
    bucket.auth._sign_request(request, bucket.bucket_name, key)
    try:
        response = bucket.session.session.put(
            bucket._make_url(bucket.bucket_name, key),
            # Encoded here as requests would (urlencode): a dict costs requests a runtime
            # Protocol isinstance check per request (~5 % of the part path's CPU, py-spy).
            params=urlencode(request.params),
            data=data,
            headers=request.headers,
            timeout=bucket.timeout,
            proxies=bucket.proxies,
        )
    except requests.RequestException as error:
        raise oss2.exceptions.RequestError(error) from error
    if response.status_code // 100 != 2:
        raise oss2.exceptions.make_exception(oss2.http.Response(response))
    return response.headers


class OssHttpTransport:
    """The real transport. ``session`` may carry a custom requests adapter (in-process).

    ``wall_clock`` is the local Unix time the signatures start from (a test skews it); the
    transport adds the offset it learned from a ``RequestTimeTooSkewed`` reply.

    ``region`` (the OSS region, e.g. ``cn-shanghai``): sign with Signature V4 scoped to it
    (UPL-TRN-007); None signs with V1, as ``oss2.Auth`` / ``oss2.StsAuth`` do."""

    def __init__(
        self,
        *,
        timeout: float | None = 60.0,
        pool_size: int = 16,
        session: oss2.Session | None = None,
        is_cname: bool = False,
        wall_clock: Callable[[], float] = time.time,
        region: str | None = None,
    ) -> None:
        if region is not None and (not isinstance(region, str) or not region.strip()):
            raise InvalidOptionError(f"region must be a non-empty string, not {region!r}")
        self._region = region
        self._timeout = timeout
        if session is None:
            session = oss2.Session(pool_size=pool_size)
            settle_environment(session.session)
        self._session = session
        self._is_cname = is_cname
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str, str | None], Any] = {}
        self._wall_clock = wall_clock
        self.clock_offset = 0.0  # seconds to add to wall_clock to get the server's time

    def _signing_time(self) -> float:
        return self._wall_clock() + self.clock_offset

    # One oss2.Bucket per (endpoint, bucket, key id, token): cheap to keep, and a refreshed
    # credential simply selects a new one.
    def _bucket(self, target: ObjectTarget, credentials: Credentials) -> Any:
        cache_key = (
            target.endpoint,
            target.bucket,
            credentials.access_key_id,
            credentials.security_token,
        )
        with self._lock:
            bucket = self._buckets.get(cache_key)
            if bucket is None:
                signer = _ClockedAuth if self._region is None else _ClockedAuthV4
                auth = signer(
                    credentials.access_key_id,
                    credentials.access_key_secret,
                    credentials.security_token or None,
                    self._signing_time,
                )
                if len(self._buckets) >= _MAX_CACHED_BUCKETS:
                    self._buckets.clear()
                bucket = oss2.Bucket(
                    auth,
                    target.endpoint,
                    target.bucket,
                    session=self._session,
                    proxies=environment_proxies(self._session.session, target.endpoint),
                    connect_timeout=self._timeout,
                    enable_crc=False,
                    is_cname=self._is_cname,
                    region=self._region,
                )
                self._buckets[cache_key] = bucket
            return bucket

    def _call(self, endpoint: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return function(*args, **kwargs)
            except oss2.exceptions.OssError as error:
                if error.code != "RequestTimeTooSkewed" or not self._learn_skew(error.headers):
                    raise
            return function(*args, **kwargs)  # once, signed with the server's time
        except TransportError:
            raise
        except Exception as error:  # every library failure becomes one typed error
            raise TransportError(classify_oss_exception(error, endpoint=endpoint)) from error

    def _learn_skew(self, headers: Mapping[str, str] | None) -> bool:
        """Adopt the server's clock from a reply's Date; False when there is none."""
        server = _server_time(headers)
        if server is None:
            return False
        self.clock_offset = server - self._wall_clock()
        return True

    def put_object(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        data: bytes,
        headers: Mapping[str, str],
    ) -> StoredObject:
        bucket = self._bucket(target, credentials)
        result = self._call(
            target.endpoint, bucket.put_object, target.key, data, headers=dict(headers)
        )
        _drain(result.resp)
        return StoredObject(etag=str(result.etag), crc64=_server_crc(result.headers))

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str:
        bucket = self._bucket(target, credentials)
        result = self._call(
            target.endpoint, bucket.init_multipart_upload, target.key, headers=dict(headers)
        )
        return str(result.upload_id)

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart:
        bucket = self._bucket(target, credentials)
        headers = self._call(
            target.endpoint, _put_part, bucket, target.key, upload_id, number, data
        )
        etag = headers.get("ETag") or ""
        return UploadedPart(etag=etag.strip('"'), crc64=_server_crc(headers))

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject:
        bucket = self._bucket(target, credentials)
        # oss2's complete_multipart_upload builds this body with an ElementTree node per
        # part (~80 us a part: 0.2 s for a 2,600-part Complete, issue 12); the same bytes
        # are built here (complete_body) and sent through oss2's signed request path.
        response = self._call(
            target.endpoint,
            bucket._do,
            "POST",
            bucket.bucket_name,
            target.key,
            params={"uploadId": upload_id},
            data=complete_body(parts),
            headers=dict(headers),
        )
        result = oss2.models.PutObjectResult(response)
        _drain(response)
        return StoredObject(etag=str(result.etag), crc64=_server_crc(result.headers))

    def abort_multipart(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        bucket = self._bucket(target, credentials)
        self._call(target.endpoint, bucket.abort_multipart_upload, target.key, upload_id)

    def list_parts(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> list[PartInfo]:
        # oss2's parser drops each part's HashCrc64ecma, which resume needs, so the pages
        # are fetched through oss2 (signing, session) and parsed here.
        bucket = self._bucket(target, credentials)
        parts: list[PartInfo] = []
        marker = ""
        while True:
            response = self._call(
                target.endpoint,
                bucket._do,
                "GET",
                bucket.bucket_name,
                target.key,
                params={
                    "uploadId": upload_id,
                    "part-number-marker": marker,
                    "max-parts": str(_LIST_PARTS_PAGE),
                },
            )
            body = self._call(target.endpoint, response.read)
            page, truncated, marker = _parse_list_parts(body)
            parts.extend(page)
            if not truncated or not page:
                return parts

    def head_object(self, target: ObjectTarget, credentials: Credentials) -> ObjectInfo | None:
        bucket = self._bucket(target, credentials)
        try:
            result = bucket.head_object(target.key)
        except oss2.exceptions.NotFound:
            return None
        except Exception as error:
            raise TransportError(classify_oss_exception(error, endpoint=target.endpoint)) from error
        return ObjectInfo(
            size=int(result.content_length or 0),
            crc64=result.server_crc,
            etag=str(result.etag),
        )

    def close(self) -> None:
        with self._lock:
            self._buckets.clear()
        self._session.session.close()


def _drain(response: Any) -> None:
    """Read the rest of a streamed reply whose body nobody needs, so its connection goes
    back to the pool. oss2 streams every reply, and its results (``PutObjectResult``) read
    only the headers: an unread body keeps the connection from the pool, so the next request
    opened a new TCP connection (one per small file, issue 12: ~1 connect per file in
    ``strace``). The request has succeeded by now: a failure while draining only loses the
    connection, never the result."""
    with contextlib.suppress(requests.RequestException, OSError):
        response.read()


def complete_body(parts: Sequence[tuple[int, str]]) -> bytes:
    """The CompleteMultipartUpload body, byte for byte what oss2's
    ``xml_utils.to_complete_upload_request`` makes (parts by number, quoted ETags, text
    escaped as ElementTree escapes it), by string joins."""
    entries = "".join(
        f'<Part><PartNumber>{number}</PartNumber><ETag>"{escape(etag)}"</ETag></Part>'
        for number, etag in sorted(parts, key=lambda part: part[0])
    )
    if not entries:  # never sent (a multipart upload has a part), but kept identical
        return b"<CompleteMultipartUpload />"
    return f"<CompleteMultipartUpload>{entries}</CompleteMultipartUpload>".encode()


def _parse_list_parts(body: bytes) -> tuple[list[PartInfo], bool, str]:
    try:
        root = ElementTree.fromstring(body)
    except Exception as error:
        raise TransportError(
            ServiceError(kind=ErrorKind.SERVICE, code="MalformedXML", message=str(error))
        ) from error

    def text(element: Any, name: str) -> str:
        child = element.find(name)
        return (child.text or "") if child is not None else ""

    parts = []
    for part in root.findall("Part"):
        crc_text = text(part, "HashCrc64ecma")
        parts.append(
            PartInfo(
                number=int(text(part, "PartNumber")),
                etag=text(part, "ETag").strip('"'),
                size=int(text(part, "Size") or 0),
                crc64=int(crc_text) if crc_text.isdigit() else None,
            )
        )
    truncated = text(root, "IsTruncated").lower() == "true"
    return parts, truncated, text(root, "NextPartNumberMarker")
