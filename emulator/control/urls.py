"""The control plane's routes: ``(method, path pattern) -> handler``.

Every path starts with ``/_emulator/``: an OSS bucket name cannot contain ``_``, so no
path-style bucket request can ever land here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.control.models import ControlPlane

PREFIX = "/_emulator"

# A handler gets the control plane, the path's named groups and the parsed JSON body.
Handler = Callable[[ControlPlane, dict[str, str], Any], Any]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    operation: str


def _body_field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


def _route(method: str, path: str, operation: str, handler: Handler) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(method, re.compile(f"^{PREFIX}{regex}/?$"), handler, operation)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/health", "Health", lambda cp, _, __: {"status": "ok"}),
    _route("POST", "/reset", "Reset", lambda cp, _, b: cp.reset(_body_field(b, "service"))),
    _route("GET", "/state", "State", lambda cp, _, __: cp.dump()),
    _route("GET", "/clock", "GetClock", lambda cp, _, __: cp.clock()),
    _route(
        "POST", "/clock/freeze", "FreezeClock", lambda cp, _, b: cp.freeze(_body_field(b, "at"))
    ),
    _route(
        "POST",
        "/clock/advance",
        "AdvanceClock",
        lambda cp, _, b: cp.advance(_body_field(b, "seconds")),
    ),
    _route("POST", "/clock/unfreeze", "UnfreezeClock", lambda cp, _, __: cp.unfreeze()),
    _route("GET", "/settings", "GetSettings", lambda cp, _, __: cp.settings()),
    _route("PUT", "/settings", "UpdateSettings", lambda cp, _, b: cp.update_settings(b)),
    _route("GET", "/tokens", "ListTokens", lambda cp, _, __: cp.tokens()),
    _route(
        "POST",
        "/tokens/{token}/expire",
        "ExpireToken",
        lambda cp, p, __: cp.expire_token(p["token"]),
    ),
    _route(
        "POST",
        "/tokens/{token}/revoke",
        "RevokeToken",
        lambda cp, p, __: cp.revoke_token(p["token"]),
    ),
    _route("GET", "/faults", "ListFaults", lambda cp, _, __: cp.list_faults()),
    _route("POST", "/faults", "AddFaults", lambda cp, _, b: cp.add_faults(b)),
    _route("DELETE", "/faults", "ClearFaults", lambda cp, _, __: cp.clear_faults()),
    _route(
        "DELETE",
        "/faults/{fault_id}",
        "RemoveFault",
        lambda cp, p, __: cp.remove_fault(p["fault_id"]),
    ),
    _route("GET", "/faults/hits", "ListFaultHits", lambda cp, _, __: cp.fault_hits()),
    _route("GET", "/chaos", "GetChaos", lambda cp, _, __: cp.chaos()),
    _route("POST", "/chaos", "StartChaos", lambda cp, _, b: cp.start_chaos(b)),
    _route("DELETE", "/chaos", "StopChaos", lambda cp, _, __: cp.stop_chaos()),
    _route(
        "POST",
        "/vod/videos/{video_id}/fail",
        "FailVideo",
        lambda cp, p, b: cp.fail_video(p["video_id"], _body_field(b, "stage")),
    ),
    _route("GET", "/vod/events", "ListVodEvents", lambda cp, _, __: cp.vod_events()),
    _route("GET", "/callbacks", "ListCallbacks", lambda cp, _, __: cp.callbacks()),
    _route("DELETE", "/callbacks", "ClearCallbacks", lambda cp, _, __: cp.clear_callbacks()),
    _route(
        "POST",
        "/namespaces",
        "CreateNamespace",
        lambda cp, _, b: cp.create_namespace(_body_field(b, "name")),
    ),
    _route("GET", "/namespaces", "ListNamespaces", lambda cp, _, __: cp.list_namespaces()),
    _route(
        "DELETE",
        "/namespaces/{name}",
        "DeleteNamespace",
        lambda cp, p, __: cp.delete_namespace(p["name"]),
    ),
    _route("GET", "/requests", "ListRequests", lambda cp, _, __: cp.requests()),
    _route("DELETE", "/requests", "ClearRequests", lambda cp, _, __: cp.clear_requests()),
)
