"""Network failures as short messages that never carry a secret.

requests and urllib3 describe a failed connection with the whole request line: for a signed
OSS or VOD request that is the query string with the ``Signature``, the ``AccessKeyId`` and
the ``SecurityToken`` (``HTTPConnectionPool(host=..., port=...): Max retries exceeded with
url: /?AccessKeyId=...&Signature=...``). Those texts must never become an exception message
a user prints. :func:`network_failure` builds the message from two things only: the
``HOST:PORT`` the request went to and a fixed phrase for the cause, found by walking the
exception chain (or, for aliyunsdkcore, which keeps only the text, by matching it). The
original exception is still chained (``raise ... from``) for a debugger, never formatted.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from ..core import ErrorKind, ServiceError

__all__ = [
    "endpoint_address",
    "environment_proxies",
    "network_failure",
    "network_failure_from_text",
    "settle_environment",
]

# Causes, most specific first: (code, phrase, kind).
_NAME_RESOLUTION = ("NameResolutionFailed", "name resolution failed", ErrorKind.NETWORK)
_REFUSED = ("ConnectionRefused", "connection refused", ErrorKind.NETWORK)
_TLS = ("TlsError", "TLS handshake failed", ErrorKind.NETWORK)
_CONNECT_TIMEOUT = ("ConnectTimeout", "timed out while connecting", ErrorKind.TIMEOUT)
_READ_TIMEOUT = ("ReadTimeout", "timed out waiting for the answer", ErrorKind.TIMEOUT)
_RESET = ("ConnectionReset", "connection reset", ErrorKind.NETWORK)
_CLOSED = ("ConnectionClosed", "connection closed before the answer", ErrorKind.NETWORK)
_UNREACHABLE = ("NetworkUnreachable", "network unreachable", ErrorKind.NETWORK)


def endpoint_address(url: str | None) -> str | None:
    """``HOST:PORT`` of ``url`` (the scheme's default port when none is written), or None.
    Only the authority is kept: never a path or a query."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps: causes, contexts, urllib3 ``reason``s, and
    exceptions passed as arguments (requests wraps urllib3's that way)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attribute in ("reason", "__cause__", "__context__"):
            inner = getattr(current, attribute, None)
            if isinstance(inner, BaseException):
                pending.append(inner)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def _cause(error: BaseException) -> tuple[str, str, ErrorKind] | None:
    found: list[tuple[str, str, ErrorKind]] = []
    for item in _chain(error):
        if isinstance(item, urllib3.exceptions.NameResolutionError | socket.gaierror):
            found.append(_NAME_RESOLUTION)
        elif isinstance(item, ConnectionRefusedError):
            found.append(_REFUSED)
        elif isinstance(item, ssl.SSLError | urllib3.exceptions.SSLError):
            found.append(_TLS)
        elif isinstance(item, requests.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError):
            found.append(_CONNECT_TIMEOUT)
        elif isinstance(
            item, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError | socket.timeout
        ):
            found.append(_READ_TIMEOUT)
        elif isinstance(item, ConnectionResetError | BrokenPipeError):
            found.append(_RESET)
        elif isinstance(item, urllib3.exceptions.ProtocolError | ConnectionAbortedError):
            found.append(_CLOSED)
        elif isinstance(item, OSError) and item.errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
            found.append(_UNREACHABLE)
    order = [
        _NAME_RESOLUTION,
        _REFUSED,
        _TLS,
        _UNREACHABLE,
        _CONNECT_TIMEOUT,
        _READ_TIMEOUT,
        _RESET,
        _CLOSED,
    ]
    return next((cause for cause in order if cause in found), None)


def _request_url(error: BaseException) -> str | None:
    for item in _chain(error):
        request = getattr(item, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            return url
        pool = getattr(item, "pool", None)  # a urllib3 pool error carries its pool
        host, port = getattr(pool, "host", None), getattr(pool, "port", None)
        if isinstance(host, str) and host:
            return f"http://{host}:{port}" if port else f"http://{host}"
    return None


def _failure(address: str | None, cause: tuple[str, str, ErrorKind] | None) -> ServiceError:
    where = address or "the server"
    if cause is None:
        return ServiceError(
            kind=ErrorKind.NETWORK, code="NetworkError", message=f"cannot reach {where}"
        )
    code, phrase, kind = cause
    verb = "no answer from" if cause is _READ_TIMEOUT else "cannot connect to"
    if cause in (_RESET, _CLOSED):
        verb = "lost the connection to"
    return ServiceError(kind=kind, code=code, message=f"{verb} {where} ({phrase})")


def network_failure(error: BaseException, *, endpoint: str | None = None) -> ServiceError:
    """A requests/urllib3/OS network error as core data whose message is
    ``cannot connect to HOST:PORT (connection refused)`` and the like. ``endpoint`` names the
    server when the exception does not."""
    address = endpoint_address(_request_url(error)) or endpoint_address(endpoint)
    return _failure(address, _cause(error))


_TEXT_CAUSES = (
    (("NameResolutionError", "Name or service not known", "nodename nor servname",
      "Temporary failure in name resolution", "getaddrinfo failed"), _NAME_RESOLUTION),
    (("Connection refused",), _REFUSED),
    (("SSLError", "CERTIFICATE_VERIFY_FAILED", "SSL:"), _TLS),
    (("Network is unreachable", "No route to host"), _UNREACHABLE),
    (("ConnectTimeout", "Connection to", "connect timeout"), _CONNECT_TIMEOUT),
    (("Read timed out", "ReadTimeout", "timed out"), _READ_TIMEOUT),
    (("Connection reset", "ConnectionResetError"), _RESET),
    (("RemoteDisconnected", "Connection aborted", "ProtocolError"), _CLOSED),
)  # fmt: skip


def network_failure_from_text(text: str, *, endpoint: str | None) -> ServiceError:
    """The same, for a library that keeps only the text of the network error
    (aliyunsdkcore's ``ClientException``): the text chooses the phrase and is dropped."""
    cause = next(
        (cause for needles, cause in _TEXT_CAUSES if any(n in text for n in needles)), None
    )
    return _failure(endpoint_address(endpoint), cause)


def settle_environment(session: requests.Session) -> None:
    """Take once what requests would read from the environment on every request (UPL-TRN-004;
    the OSS transport and ``RpcVodApi`` share it)."""
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def environment_proxies(session: requests.Session, endpoint: str) -> dict[str, str] | None:
    """The environment's proxies for ``endpoint`` (None: none), for a session that no longer
    looks them up itself; a session that still does (a caller's own) is left to it."""
    if session.trust_env:
        return None
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    return requests.utils.get_environ_proxies(url) or None
