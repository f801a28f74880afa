"""Shared pieces of OSS responses: request context, common headers, errors, CORS,
query-parameter parsing and ``encoding-type=url``.

Kept apart from the handlers so bucket and object handlers (``responses.py``,
``object_responses.py``) serialize identically.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from emulator.http import Request, Response
from emulator.numbers import parse_signed_decimal
from emulator.oss import xmlutil
from emulator.oss.exceptions import OssError, invalid_argument
from emulator.oss.urls import OssTarget

# Headers a browser client (ali-oss) must be able to read cross-origin.
EXPOSE_HEADERS = (
    "ETag, x-oss-request-id, x-oss-hash-crc64ecma, x-oss-object-type, "
    "x-oss-storage-class, x-oss-ec, x-oss-err, x-oss-next-append-position, Content-Length, "
    "Content-Range, Content-Type, Content-MD5, Last-Modified, Date"
)
ALLOW_METHODS = "GET, PUT, POST, DELETE, HEAD"


def new_request_id() -> str:
    """24 upper-case hex characters, like real OSS request ids."""
    return secrets.token_hex(12).upper()


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One OSS request being served."""

    request: Request
    target: OssTarget
    request_id: str
    now: float

    @property
    def bucket(self) -> str:
        assert self.target.bucket is not None
        return self.target.bucket

    @property
    def key(self) -> str:
        assert self.target.key is not None
        return self.target.key

    @property
    def url_encoding(self) -> bool:
        return self.target.params.get("encoding-type") == "url"

    def encode(self, text: str) -> str:
        """A key or prefix as it goes into XML: percent-encoded under encoding-type=url."""
        return quote(text, safe="/") if self.url_encoding else text

    def param(self, name: str, default: str = "") -> str:
        return self.target.params.get(name, default)

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.target.params.get(name, "")
        if raw == "":
            return default
        value = parse_signed_decimal(raw)
        if value is None:
            raise invalid_argument(f"Argument {name} is invalid.", name, raw)
        if not low <= value <= high:
            raise invalid_argument(f"Argument {name} is out of range.", name, raw)
        return value

    def check_encoding_type(self) -> None:
        value = self.target.params.get("encoding-type")
        if value not in (None, "", "url"):
            raise invalid_argument("The Encoding-Type is invalid.", "encoding-type", value)


def xml_response(call: Call, root: str, children: Iterable[xmlutil.Node]) -> Response:
    return Response(
        status=200,
        headers=[("Content-Type", "application/xml")],
        body=xmlutil.render(root, children),
    )


def empty_response(status: int = 200) -> Response:
    return Response(status=status, headers=[], body=b"")


def error_response(request: Request, error: OssError, request_id: str) -> Response:
    """The OSS ``<Error>`` document; for HEAD, no body and the XML in ``x-oss-err``."""
    children: list[xmlutil.Node] = [
        ("Code", error.code),
        ("Message", error.message),
        ("RequestId", request_id),
        ("HostId", request.host),
        *error.extras,
        ("EC", error.ec),
        ("RecommendDoc", f"https://api.aliyun.com/troubleshoot?q={error.ec}"),
    ]
    document = xmlutil.render("Error", children)
    headers = [("Content-Type", "application/xml"), ("x-oss-ec", error.ec)]
    headers.extend(error.response_headers())
    if request.method == "HEAD":
        headers.append(("x-oss-err", base64.b64encode(document).decode("ascii")))
        return Response(status=error.status, headers=headers, body=b"", content_length=0)
    return Response(status=error.status, headers=headers, body=document)


def finish(response: Response, request: Request, request_id: str, now: float) -> Response:
    """Headers every OSS response carries, plus CORS when the request has an Origin."""
    response.headers.extend(
        [
            ("x-oss-request-id", request_id),
            ("Date", xmlutil.http_date(now)),
            ("Server", "AliyunOSS"),
        ]
    )
    origin = request.headers.get("Origin")
    # A preflight already carries its CORS headers; a second Access-Control-Allow-Origin
    # makes browsers reject the response ("contains multiple values").
    if origin and response.header("Access-Control-Allow-Origin") is None:
        response.headers.extend(
            [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
                ("Vary", "Origin"),
            ]
        )
    return response


def preflight(request: Request) -> Response:
    """CORS preflight: every origin, method and header is allowed (buckets are private
    anyway, and every real request is still signed)."""
    origin = request.headers.get("Origin")
    method = request.headers.get("Access-Control-Request-Method")
    if not origin or not method:
        raise invalid_argument(
            "Insufficient information. Origin request header needed.", "Origin", origin or ""
        )
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ALLOW_METHODS),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]
    requested = request.headers.get("Access-Control-Request-Headers")
    if requested:
        headers.append(("Access-Control-Allow-Headers", requested))
    return Response(status=200, headers=headers, body=b"")
