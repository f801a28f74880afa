"""CORS for the RPC APIs.

The JS upload SDK's STS mode signs VOD OpenAPI calls in the browser and sends them from
the page (sdk-semantics §1.2 ``setSTSToken``): a simple GET that needs
``Access-Control-Allow-Origin`` on the answer to be readable, and a preflight when a page
adds headers of its own. Every origin is allowed: every real call is still signed.
"""

from __future__ import annotations

from emulator.http import Request, Response

_ALLOW_METHODS = "GET, POST, OPTIONS"


def preflight(request: Request) -> Response:
    """Answer an ``OPTIONS`` preflight for an RPC URL."""
    origin = request.headers.get("Origin") or "*"
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", _ALLOW_METHODS),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    ]
    requested = request.headers.get("Access-Control-Request-Headers")
    if requested:
        headers.append(("Access-Control-Allow-Headers", requested))
    return Response(status=200, headers=headers, body=b"")


def allow_origin(request: Request, response: Response) -> Response:
    """Let the requesting page read ``response`` (no-op without an ``Origin``)."""
    origin = request.headers.get("Origin")
    if origin and response.header("Access-Control-Allow-Origin") is None:
        response.headers.extend(
            [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Expose-Headers", "x-acs-request-id"),
                ("Vary", "Origin"),
            ]
        )
    return response
