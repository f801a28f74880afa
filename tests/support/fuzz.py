"""Strategies and one request round trip for the security fuzz property (issue 9).

Each drawn case is the exact bytes of one request, sent on its own loopback connection
(half-closed after the request, so the server sees the end of input), plus what kind of
request it is. The kinds cover every finding of issue 9: signed and unsigned OSS and RPC
traffic with hostile values, control-plane calls with out-of-range values, foreign hosts
and cross-origin writes, and malformed HTTP framing.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from emulator.http import Headers, Request
from emulator.oss.auth import v1_signature, v1_string_to_sign
from emulator.oss.urls import classify
from emulator.oss.xmlutil import http_date
from emulator.rpc.signing import rpc_signature, rpc_string_to_sign

BUCKET = "fuzz-bucket"
KEY = "up.bin"


@dataclass(frozen=True, slots=True)
class Case:
    kind: str  # "oss", "rpc", "control", "wire"
    payload: bytes
    # A control call the control plane must refuse (and so change nothing).
    refused_control: bool = False


@dataclass(frozen=True, slots=True)
class Keys:
    access_key_id: str
    access_key_secret: str
    upload_id: str
    port: int


HOSTILE = [
    "",
    "1",
    "0",
    "-1",
    "10001",
    "9" * 5000,
    "\u0663",
    "\u00b9",
    "\uff11",
    "1_0",
    " 1",
    "a\r\nX-Injected: 1",
    "\n",
    "\x00",
    "\u5e73",
    "\u2028",
    "%",
    "1e20",
    "NaN",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
)

OSS_PARAMS = [
    "uploads",
    "uploadId",
    "partNumber",
    "max-keys",
    "max-parts",
    "part-number-marker",
    "prefix",
    "encoding-type",
    "response-content-type",
    "response-content-disposition",
    "response-cache-control",
    "x-oss-signature-version",
    "x-oss-credential",
    "Expires",
    "acl",
    "delete",
]
OSS_HEADERS = [
    "Range",
    "Content-Type",
    "Content-MD5",
    "x-oss-meta-a",
    "If-Match",
    "x-oss-security-token",
    "Origin",
    "x-oss-range-behavior",
]


def _head(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", *[f"{k}: {v}" for k, v in headers]]
    lines += ["Connection: close", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _latin1(value: str) -> str:
    """A header value as a client can put it on the wire (no CR/LF, Latin-1)."""
    return value.replace("\r", "").replace("\n", "").encode("latin-1", "replace").decode("latin-1")


@st.composite
def oss_cases(draw: st.DrawFn, keys: Keys) -> Case:
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
    key = draw(st.sampled_from([KEY, "k", "a/b", "%00", "\u0663"]))
    path = f"/{BUCKET}/{quote(key, safe='/%')}"
    pairs = draw(st.lists(st.tuples(st.sampled_from(OSS_PARAMS), hostile_text), max_size=3))
    if draw(st.booleans()):
        pairs.append(("uploadId", keys.upload_id))
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" if v else quote(k) for k, v in pairs)
    headers = [
        (name, _latin1(value))
        for name, value in draw(
            st.lists(st.tuples(st.sampled_from(OSS_HEADERS), hostile_text), max_size=3)
        )
    ]
    headers.append(("Host", f"127.0.0.1:{keys.port}"))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=64)))
    if draw(st.booleans()):
        headers = _sign_v1(method, path, query, headers, keys)
    target = path + ("?" + query if query else "")
    return Case("oss", _head(method, target, headers, body))


def _sign_v1(
    method: str, path: str, query: str, headers: list[tuple[str, str]], keys: Keys
) -> list[tuple[str, str]]:
    date = http_date(time.time())
    signed = [(k, v) for k, v in headers if k.lower() != "date"] + [("Date", date)]
    request = Request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=Headers(signed),
        body=b"",
        host=f"127.0.0.1:{keys.port}",
    )
    try:
        target = classify(request)
    except Exception:
        return signed
    signature = v1_signature(keys.access_key_secret, v1_string_to_sign(request, target, date))
    return [*signed, ("Authorization", f"OSS {keys.access_key_id}:{signature}")]


RPC_PARAMS = ["Title", "FileName", "FileSize", "CateId", "VideoId", "Tags", "DurationSeconds"]


@st.composite
def rpc_cases(draw: st.DrawFn, keys: Keys) -> Case:
    action = draw(
        st.sampled_from(["CreateUploadVideo", "GetVideoInfo", "RefreshUploadVideo", "Nope"])
    )
    pairs = st.lists(st.tuples(st.sampled_from(RPC_PARAMS), hostile_text), max_size=4)
    params = dict(draw(pairs))
    params.update(
        {
            "Action": action,
            "Version": "2017-03-21",
            "Format": draw(st.sampled_from(["JSON", "XML"])),
            "AccessKeyId": keys.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
    )
    if draw(st.booleans()):
        params["SignatureNonce"] = uuid.uuid4().hex
    if draw(st.booleans()):
        params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    method = draw(st.sampled_from(["GET", "POST"]))
    if draw(st.booleans()):
        params["Signature"] = rpc_signature(
            rpc_string_to_sign(method, params), keys.access_key_secret
        )
    else:
        params["Signature"] = draw(hostile_text)
    headers = [("Host", f"127.0.0.1:{keys.port}")]
    return Case("rpc", _head(method, "/?" + urlencode(params, quote_via=quote), headers, b""))


CONTROL_WRITES = [
    ("POST", "/_emulator/clock/advance", "seconds"),
    ("POST", "/_emulator/clock/freeze", "at"),
    ("PUT", "/_emulator/settings", "upload_auth_ttl_seconds"),
    ("PUT", "/_emulator/settings", "sts_max_ttl_seconds"),
    ("POST", "/_emulator/reset", "service"),
    ("POST", "/_emulator/faults", "effect"),
]
# Each refused by every field it is drawn for ({"at": null} would freeze "now": valid).
BAD_NUMBERS = [1e20, 1e12, -1e12, -1, 4e10, "1", True, [1], {"a": 1}]


@st.composite
def control_cases(draw: st.DrawFn, keys: Keys) -> Case:
    """Control calls the control plane must refuse: a bad value, a foreign Host, a
    cross-origin or text/plain write, or deeply nested JSON."""
    method, path, field = draw(st.sampled_from(CONTROL_WRITES))
    how = draw(st.sampled_from(["value", "host", "origin", "text", "nested", "constant"]))
    host = f"127.0.0.1:{keys.port}"
    headers = [("Content-Type", "application/json")]
    value: object = draw(st.sampled_from(BAD_NUMBERS))
    if field == "service":
        value = draw(st.sampled_from(["nope", 1, ["oss"]]))
    if field == "effect":
        value = draw(st.sampled_from(["x", 1, None, {"type": "delay", "seconds": 1e20}]))
    body = json.dumps({field: value}).encode()
    if how == "host":
        host = draw(st.sampled_from(["evil.example", "rebind.test:80", "10.0.0.1"]))
    elif how == "origin":
        headers.append(("Origin", draw(st.sampled_from(["http://evil.example", "null"]))))
    elif how == "text":
        headers = [("Content-Type", "text/plain;charset=UTF-8")]
    elif how == "nested":
        depth = draw(st.sampled_from([1000, 100_000]))
        body = b'{"' + field.encode() + b'": ' + b"[" * depth + b"]" * depth + b"}"
    elif how == "constant":
        body = b'{"' + field.encode() + b'": ' + draw(st.sampled_from([b"NaN", b"-Infinity"]))
        body += b"}"
    headers.append(("Host", host))
    return Case("control", _head(method, path, headers, body), refused_control=True)


def wire_cases(keys: Keys) -> st.SearchStrategy[Case]:
    """Malformed framing: each must get a 4xx status line, never silence (EMU-SEC-010)."""
    return st.sampled_from([Case("wire", payload) for payload in wire_payloads(keys)])


def wire_payloads(keys: Keys) -> list[bytes]:
    """The malformed requests of :func:`wire_cases`, each asking to close afterwards."""
    host = f"Host: 127.0.0.1:{keys.port}\r\n".encode()
    get = b"GET /" + BUCKET.encode() + b"/k HTTP/1.1\r\n" + host
    put = b"PUT /" + BUCKET.encode() + b"/k HTTP/1.1\r\n" + host
    raw = [
        put + b"Content-Length: 1\xb9\r\n\r\nx",
        put + b"Content-Length: \xd9\xa3\r\n\r\nabc",
        put + b"Content-Length: +1\r\n\r\nx",
        put + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        put + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
        put + b"Content-Length: 1, 1\r\n\r\nx",
        put + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\nab\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\n\r\n\xd9\xa3\r\nabc\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        put + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET http://[::1/x HTTP/1.1\r\n" + host + b"\r\n",
        b"GET http://[zz]:80/x HTTP/1.1\r\n" + host + b"\r\n",
        b"GET http://vod.cn-shanghai.aliyuncs.com:99999/ HTTP/1.1\r\n" + host + b"\r\n",
        b"GET http://vod.cn-shanghai.aliyuncs.com:x/ HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /x HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: a\r\n folded: x\r\n\r\n",
        b"GET /x HTTP/2.0\r\n" + host + b"\r\n",
        b"GET /x\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",
        get + b"Range: bytes=0-" + b"9" * 5000 + b"\r\n\r\n",
    ]
    close = b"HTTP/1.1\r\nConnection: close\r\n"
    return [payload.replace(b"HTTP/1.1\r\n", close, 1) for payload in raw]


def all_cases(keys: Keys) -> st.SearchStrategy[Case]:
    return st.one_of(oss_cases(keys), rpc_cases(keys), control_cases(keys), wire_cases(keys))


def exchange(port: int, payload: bytes, timeout: float = 30.0) -> bytes:
    """Send ``payload``, half-close, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def status_of(reply: bytes) -> int | None:
    if not reply.startswith(b"HTTP/1."):
        return None
    try:
        return int(reply.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None
