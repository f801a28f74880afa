"""Serve one RPC request: route, verify, call the service, render the answer.

Every failure, including an unexpected one, is answered in the POP error format: a client
never sees a traceback, and the emulator never answers an RPC call with an empty 500.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from emulator.credentials import Credential
from emulator.http import Request, Response
from emulator.rpc import cors, errors
from emulator.rpc.auth import Verifier
from emulator.rpc.call import RpcCall
from emulator.rpc.params import (
    UNSIGNED_ACTIONS,
    RpcTarget,
    SignatureScheme,
    all_params,
    target_of,
)
from emulator.sts import urls as sts_urls
from emulator.vod import urls as vod_urls

if TYPE_CHECKING:
    from emulator.state import EmulatorState

_log = logging.getLogger(__name__)


class InternalError(errors.RpcError):
    status = 500
    code = "InternalError"
    default_message = "The request processing has failed due to some unknown error."


def handle(state: EmulatorState, request: Request) -> Response:
    if request.method == "OPTIONS":
        return cors.preflight(request)
    params = all_params(request)
    target = target_of(request, params)
    try:
        document = _serve(state, request, params, target)
    except errors.RpcError as error:
        return errors.error_from_exception(request, error, product=target.product)
    except Exception:
        _log.exception("RPC %s failed unexpectedly", target.action)
        return errors.error_from_exception(request, InternalError(), product=target.product)
    request_id = errors.new_request_id()
    return errors.render(
        request,
        status=200,
        document={"RequestId": request_id, **document},
        root=f"{target.action}Response",
        request_id=request_id,
    )


def _serve(
    state: EmulatorState, request: Request, params: dict[str, str], target: RpcTarget
) -> dict[str, Any]:
    if target.product is None:
        if target.version:
            raise errors.InvalidVersion()
        raise errors.MissingParameter("Version")
    if not target.action:
        raise errors.MissingParameter("Action")
    known = vod_urls.ACTIONS if target.product == "vod" else sts_urls.ACTIONS
    if target.action not in known:
        raise errors.InvalidAction()
    caller = _authenticate(state, request, params, target.scheme, target.action)
    call = RpcCall(
        request=request,
        action=target.action,
        params=params,
        caller=caller,
        region=state.config.region,
    )
    if target.product == "vod":
        return vod_urls.ACTIONS[target.action](state.vod, call)
    return sts_urls.ACTIONS[target.action](state.sts, call)


def _authenticate(
    state: EmulatorState,
    request: Request,
    params: dict[str, str],
    scheme: SignatureScheme,
    action: str,
) -> Credential | None:
    if scheme is SignatureScheme.UNSIGNED:
        if action in UNSIGNED_ACTIONS:
            return None  # progress telemetry, served unsigned (see UNSIGNED_ACTIONS)
        raise errors.MissingParameter("Signature")
    verifier = Verifier(
        credentials=state.credentials, clock=state.clock, config=state.config, db=state.db
    )
    return verifier.verify(request, params, scheme).credential
