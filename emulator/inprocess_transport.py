"""vodref's OSS transport routed straight into an emulator app, without a socket (fast tests).

:class:`InProcessAdapter` is a ``requests`` transport adapter: oss2 signs and parses exactly
as over a socket, and the exchange goes through the emulator's own
:class:`emulator.inprocess.InProcessTransport`, so fault effects (reset, drop after commit,
stall past the read timeout) surface as the ``requests`` exceptions a socket would raise.
Only the OSS side goes in-process here; VOD RPC in-process is ``emulator.mock_vod()``.

It lives in the emulator, not in vodref: the library never imports the emulator, and this
adapter needs the emulator's ``[emulator]`` extra (``responses``) like the rest of
in-process mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import oss2
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from emulator.inprocess import InProcessTransport, TransportFailure
from vodref.transport import OssHttpTransport

__all__ = ["InProcessAdapter", "in_process_transport"]


def _timeout_seconds(timeout: object) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[-1]
    return float(timeout) if isinstance(timeout, int | float) else None


class InProcessAdapter(BaseAdapter):
    def __init__(self, app: Any) -> None:
        super().__init__()
        self._exchange = InProcessTransport(app)

    def send(  # noqa: PLR0917 (the signature requests defines)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = request.body
        if body is None:
            payload = b""
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = bytes(body)
        try:
            answer = self._exchange.exchange(
                method=str(request.method),
                url=str(request.url),
                headers=[(str(k), str(v)) for k, v in request.headers.items()],
                body=payload,
                timeout=_timeout_seconds(timeout),
            )
        except TransportFailure as failure:
            if failure.kind == "read_timeout":
                raise requests.ReadTimeout(str(failure.reason), request=request) from None
            raise requests.ConnectionError(str(failure.reason), request=request) from None
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.body
        response._content_consumed = True  # type: ignore[attr-defined]
        response.url = str(request.url)
        response.request = request
        response.reason = ""
        return response

    def close(self) -> None:
        pass


def in_process_transport(app: Any, *, timeout: float | None = 60.0) -> OssHttpTransport:
    """An :class:`OssHttpTransport` whose HTTP goes straight into the emulator ``app``."""
    return OssHttpTransport(timeout=timeout, session=oss2.Session(adapter=InProcessAdapter(app)))
