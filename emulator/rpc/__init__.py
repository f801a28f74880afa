"""RPC-style APIs (VOD 2017-03-21, STS 2015-04-01): routing, signatures, dispatch.

The app uses four functions:

- :func:`is_rpc_request` decides whether a request is VOD/STS traffic rather than OSS;
- :func:`classify` names the product and action without verifying anything (fault
  matching and request records);
- :func:`handle` serves the request (verify, call the service, render JSON or XML);
- :func:`error_response` renders an error in the RPC format (injected faults).

Routing (specs/emulator-vod-sts.md): an ``Authorization: ACS3-...`` header means ACS3 with
the action in ``x-acs-action``; otherwise a ``Signature`` parameter means RPC v1 with
``Action`` in the parameters; otherwise only the unsigned telemetry actions are served.
The product comes from ``Version`` (or ``x-acs-version``), else the ``Host`` prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.http import OperationInfo, Request, Response
from emulator.rpc.errors import error_response
from emulator.rpc.params import SignatureScheme, all_params, target_of

if TYPE_CHECKING:
    from emulator.state import EmulatorState

__all__ = ["classify", "error_response", "handle", "is_rpc_request"]


def is_rpc_request(request: Request) -> bool:
    """True for VOD/STS traffic: RPC APIs live at ``/`` and name an action.

    An OSS request never carries an ``ACS3-`` Authorization nor an ``Action`` parameter,
    and OSS object keys are never ``/`` alone, so this cannot steal OSS traffic.
    """
    if request.raw_path not in ("", "/"):
        return False
    params = all_params(request)
    target = target_of(request, params)
    if target.scheme is SignatureScheme.ACS3:
        return True
    return "Action" in params


def classify(request: Request) -> OperationInfo:
    """Product and action as the request states them (nothing is verified)."""
    target = target_of(request, all_params(request))
    return OperationInfo(service=target.product or "vod", operation=target.action or "Unknown")


def handle(state: EmulatorState, request: Request) -> Response:
    # Imported here, not at module level: the services import emulator.rpc.errors while
    # EmulatorState is being built, and the dispatcher imports the services.
    from emulator.rpc.dispatch import handle as dispatch  # noqa: PLC0415

    return dispatch(state, request)
