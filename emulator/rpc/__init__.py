"""RPC-style APIs (VOD 2017-03-21, STS 2015-04-01): routing and signature verification.

Placeholder entry points; the real routing, signature checks and handlers are being
written (issue 3). The app calls exactly these two functions.
"""

from __future__ import annotations

from emulator.http import Request, Response


def is_rpc_request(request: Request) -> bool:
    """True for VOD/STS traffic (protocols.md 4.5): ACS3 auth, or an ``Action`` parameter."""
    authorization = request.headers.get("Authorization") or ""
    if authorization.startswith("ACS3-"):
        return True
    return "Action" in request.query_dict()


def handle(state: object, request: Request) -> Response:
    body = b'{"Code":"NotImplemented","Message":"RPC is not implemented yet"}'
    return Response(status=501, headers=[("Content-Type", "application/json")], body=body)
