"""Route requests straight into an emulator app, without a socket (fast tests).

The emulator's app is a plain callable ``emulator.http.Request -> emulator.http.Response``.
:class:`InProcessAdapter` is a ``requests`` transport adapter that builds that request from
the prepared one, calls the app, and turns the answer back into a ``requests.Response``, so
oss2 signs and parses exactly as it does over a socket. Transport faults the emulator asks
for (reset, drop after commit) become ``requests.ConnectionError``, as a socket would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import oss2
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from emulator.http import Headers, Request, TransportAction

from .oss_http import OssHttpTransport

__all__ = ["InProcessAdapter", "in_process_transport"]

# The emulator's app: Request -> Response (typed loosely to keep vodref importable without
# the emulator package).
EmulatorApp = Callable[[Any], Any]


class InProcessAdapter(BaseAdapter):
    def __init__(self, app: EmulatorApp) -> None:
        super().__init__()
        self._app = app

    def send(  # noqa: PLR0917 (the signature requests defines)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body
        if body is None:
            payload = b""
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = bytes(body)
        headers = [(str(k), str(v)) for k, v in request.headers.items()]
        if payload and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(payload))))
        emulated = Request(
            method=str(request.method),
            raw_path=url.path or "/",
            raw_query=url.query,
            headers=Headers(headers),
            body=payload,
            host=url.netloc,
            scheme=url.scheme or "http",
        )
        answer = self._app(emulated)
        effect = getattr(answer, "transport", None)
        if effect is not None and effect.action in (
            TransportAction.RESET_BEFORE_BODY,
            TransportAction.RESET_AFTER_BODY,
            TransportAction.DROP_AFTER_COMMIT,
            TransportAction.STALL,
        ):
            raise requests.ConnectionError(f"in-process emulator fault: {effect.action.value}")
        content = answer.body_bytes()
        if effect is not None and effect.action is TransportAction.TRUNCATE:
            raise requests.ConnectionError("in-process emulator fault: truncated body")
        response = requests.Response()
        response.status_code = int(answer.status)
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = content
        response._content_consumed = True  # type: ignore[attr-defined]
        response.url = request.url or ""
        response.request = request
        response.reason = ""
        response.encoding = None
        return response

    def close(self) -> None:
        pass


def in_process_transport(app: EmulatorApp, *, timeout: float | None = 60.0) -> OssHttpTransport:
    """An :class:`OssHttpTransport` whose HTTP goes straight into ``app``."""
    return OssHttpTransport(timeout=timeout, session=oss2.Session(adapter=InProcessAdapter(app)))
