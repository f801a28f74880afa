"""The control plane over HTTP: parse the JSON request, call the model, serialise.

Success is ``200`` with the operation's JSON value as the whole body. Failure is a 4xx
with ``{"error": {"code": ..., "message": ...}}``; nothing changed. The handler never
raises: whatever the request, the answer is JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from emulator.control.dashboard import dashboard_response, wants_dashboard
from emulator.control.guard import check_control_request
from emulator.control.models import ControlError, ControlPlane
from emulator.control.urls import ROUTES
from emulator.http import Request, Response
from emulator.redaction import redact_path

if TYPE_CHECKING:
    from emulator.namespaces import Namespaces
    from emulator.state import EmulatorState

# Control requests are small JSON documents; anything bigger is a mistake.
MAX_CONTROL_BODY = 1 << 20


def json_response(status: int, value: Any) -> Response:
    body = json.dumps(value, sort_keys=True).encode()
    return Response(
        status=status,
        headers=[("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        body=body,
    )


def error_response(error: ControlError) -> Response:
    return json_response(error.status, {"error": {"code": error.code, "message": error.message}})


def operation_name(request: Request) -> str:
    """The control operation a request names, for the request log and fault matching."""
    for route in ROUTES:
        if route.method == request.method and route.pattern.match(request.path):
            return route.operation
    return "Unknown"


class ControlHandler:
    """``Request -> Response`` for every path under ``/_emulator/``."""

    def __init__(self, state: EmulatorState, *, namespaces: Namespaces | None = None) -> None:
        self.plane = ControlPlane(state, namespaces=namespaces)

    def __call__(self, request: Request) -> Response:
        try:
            # The guard first: the dashboard is a control-plane page too (EMU-SEC-006).
            check_control_request(request, self.plane.state.config)
            if wants_dashboard(request.method, request.path):
                return dashboard_response(request.path)
            return json_response(200, self._dispatch(request))
        except ControlError as error:
            return error_response(error)

    def _dispatch(self, request: Request) -> Any:
        path = request.path
        allowed: list[str] = []
        for route in ROUTES:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            return route.handler(self.plane, found.groupdict(), _json_body(request))
        shown = redact_path(path)  # a token path may name a full AccessKeyId
        if allowed:
            raise ControlError(
                405, "MethodNotAllowed", f"{request.method} {shown}: use {', '.join(allowed)}"
            )
        raise ControlError(404, "NoSuchControlOperation", f"no control operation at {shown}")


def _no_constants(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and not a number of
    # seconds anything could use (EMU-SEC-002).
    raise ValueError(f"{name} is not JSON")


def _json_body(request: Request) -> Any:
    if len(request.body) > MAX_CONTROL_BODY:
        raise ControlError(413, "BodyTooLarge", "control requests are limited to 1 MiB")
    body = request.body_bytes()
    if not body.strip():
        return None
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser's recursion limit (EMU-SEC-010).
        raise ControlError(400, "MalformedJSON", "the request body is not valid JSON") from None
