"""Who may use the control plane (EMU-SEC-006 .. EMU-SEC-009).

The control plane can reset every service, move the clock and install faults, and it
shows the emulator's state. It has no business being reachable from a web page or another
machine, so before any operation runs a control request must pass, in order:

1. **Host allow-list** (DNS rebinding): the ``Host`` names a loopback address
   (``127.0.0.0/8``, ``::1``), ``localhost`` or a ``*.localhost`` name, the in-process
   name ``oss-emulator.vodref.test``, or a name in ``config.control_hosts``
   (CLI ``--control-host``). A page on ``evil.example`` whose name was rebound to
   127.0.0.1 still sends ``Host: evil.example`` and is refused (403 ``HostNotAllowed``);
2. **the control-plane token**, when one is configured (``config.control_token``, CLI
   ``--control-token`` or ``VODREF_EMULATOR_CONTROL_TOKEN``): ``Authorization: Bearer
   <token>``, compared in constant time; missing or wrong is 401 ``ControlTokenRequired``;
3. **no cross-origin writes**: a request other than GET/HEAD is refused (403
   ``CrossOriginRefused``) when its ``Origin`` is not the origin it was sent to, when
   ``Sec-Fetch-Site`` says a browser sent it from another site, or when its
   ``Content-Type`` is one a page may send without a CORS preflight (``text/plain``,
   ``application/x-www-form-urlencoded``, ``multipart/form-data``). The control plane
   answers no preflight and sets no CORS header, so a page can neither write with a JSON
   body nor read an answer.

A refusal is JSON in the control plane's error format and changes nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from emulator.config import EmulatorConfig
from emulator.control.models import ControlError
from emulator.http import Request

# The name in-process mode (emulator.inprocess) serves the emulator under: in the
# reserved .test domain, so no DNS can point it anywhere.
INPROCESS_HOST = "oss-emulator.vodref.test"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
_SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def host_name(host: str) -> str:
    """The name part of a ``Host`` value: no port, no brackets, lower case, no final dot."""
    value = host.strip().lower()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_allowed(name: str, config: EmulatorConfig) -> bool:
    if is_loopback_name(name) or name == INPROCESS_HOST:
        return True
    return name in {host_name(allowed) for allowed in config.control_hosts}


def check_control_request(request: Request, config: EmulatorConfig) -> None:
    """Raise :class:`ControlError` unless ``request`` may use the control plane."""
    name = host_name(request.host)
    if not _host_allowed(name, config):
        raise ControlError(
            403,
            "HostNotAllowed",
            "the control plane answers only loopback host names and those given with "
            "--control-host",
        )
    if config.control_token:
        authorization = request.headers.get("Authorization") or ""
        scheme, _, presented = authorization.partition(" ")
        expected = config.control_token.encode("utf-8")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode("utf-8", "surrogateescape"), expected
        ):
            raise ControlError(
                401,
                "ControlTokenRequired",
                "this control plane needs 'Authorization: Bearer <control token>'",
            )
    if request.method.upper() not in _SAFE_METHODS:
        _check_same_origin(request)


def _check_same_origin(request: Request) -> None:
    headers = request.headers
    origin = headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin.strip()) if origin.strip() != "null" else None
        if parts is None or parts.netloc.lower() != request.host.strip().lower():
            raise ControlError(
                403, "CrossOriginRefused", "control-plane writes from another origin are refused"
            )
    fetch_site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if fetch_site and fetch_site not in _SAME_SITE_FETCH:
        raise ControlError(
            403, "CrossOriginRefused", "control-plane writes from another site are refused"
        )
    content_type = (headers.get("Content-Type") or "").partition(";")[0].strip().lower()
    if content_type in _SIMPLE_CONTENT_TYPES:
        raise ControlError(
            403,
            "CrossOriginRefused",
            f"control-plane bodies are JSON: a {content_type} write is what a web page "
            "can send to any origin, so it is refused",
        )
