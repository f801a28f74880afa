"""Helpers for the security tests: raw requests over a real loopback socket, and requests
signed by hand so that each signed field can be left out or replayed."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from emulator.http import Headers
from emulator.rpc.signing import (
    acs3_signature,
    acs3_string_to_sign,
    rpc_signature,
    rpc_string_to_sign,
)

VOD = "2017-03-21"


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rpartition(":")
    return host.strip("[]"), int(port)


def http_request(
    url: str,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    """One request with http.client; (status, headers with lower-case names, body)."""
    host, port = host_port(url)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        answer = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer, response.read()
    finally:
        connection.close()


def raw_exchange(url: str, payload: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``payload`` as it is and read until the server closes (or ``timeout``)."""
    host, port = host_port(url)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        with_shutdown(sock)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def with_shutdown(sock: socket.socket) -> None:
    """Half-close: the server sees end of input once it has read everything sent."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def status_of(reply: bytes) -> int | None:
    """The status code of the first response in ``reply``, or None without a status line."""
    if not reply.startswith(b"HTTP/1."):
        return None
    return int(reply.split(b" ", 2)[1])


def rpc_v1_query(
    access_key_id: str,
    secret: str,
    action: str,
    *,
    method: str = "POST",
    timestamp: str | None = "now",
    nonce: str | None = "new",
    **business: str,
) -> str:
    """A VOD RPC v1 query string signed with HMAC-SHA1."""
    params = {
        "Action": action,
        "Version": VOD,
        "Format": "JSON",
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        **business,
    }
    if timestamp == "now":
        params["Timestamp"] = iso(time.time())
    elif timestamp is not None:
        params["Timestamp"] = timestamp
    if nonce == "new":
        params["SignatureNonce"] = uuid.uuid4().hex
    elif nonce is not None:
        params["SignatureNonce"] = nonce
    params["Signature"] = rpc_signature(rpc_string_to_sign(method, params), secret)
    return urlencode(params, quote_via=quote)


def acs3_headers(
    host: str,
    access_key_id: str,
    secret: str,
    action: str,
    query: list[tuple[str, str]],
    *,
    leave_out: tuple[str, ...] = (),
    unsigned: tuple[str, ...] = (),
) -> dict[str, str]:
    """ACS3-HMAC-SHA256 headers for a POST to ``/``; ``leave_out``
    headers are not sent, ``unsigned`` ones are sent but not in SignedHeaders."""
    headers = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": VOD,
        "x-acs-date": iso(time.time()),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    for name in leave_out:
        del headers[name]
    signed = sorted(name for name in headers if name not in unsigned)
    string_to_sign = acs3_string_to_sign(
        method="POST",
        path="/",
        query=query,
        headers=Headers(headers.items()),
        signed_headers=signed,
        body=b"",
    )
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={access_key_id},"
        f"SignedHeaders={';'.join(signed)},Signature={acs3_signature(string_to_sign, secret)}"
    )
    return headers


def json_body(body: bytes) -> dict[str, Any]:
    value = json.loads(body)
    assert isinstance(value, dict)
    return value
