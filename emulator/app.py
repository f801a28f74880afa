"""The emulator's application: one object that routes a :class:`Request` to the control
plane, the RPC services (VOD, STS) or OSS, and applies the fault hook.

Routing order (EMU-OSS-060 in specs/emulator-oss.md):

1. a path under ``/_emulator/`` goes to the ``control`` handler (no bucket name can
   contain ``_``, so this never shadows a path-style bucket);
2. :func:`emulator.rpc.is_rpc_request` (ACS3 auth, an ``Action`` parameter, or a
   ``vod.``/``sts.`` host) goes to :func:`emulator.rpc.handle`;
3. everything else is OSS.

Fault hook contract: :meth:`App.handle` asks ``state.faults.decide(info, now=...)`` once
per request unless the caller already did (``decided=True``; the socket server decides
before reading the body so it can reset the connection first). An
:class:`~emulator.faults.effects.ErrorEffect` answers with that error in the service's own format
without running the operation. A transport effect travels back on
``Response.transport``; for ``RESET_AFTER_BODY`` the operation is not run, for every other
transport effect (including ``DROP_AFTER_COMMIT``) it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator import rpc
from emulator.faults.effects import UNANSWERED, EffectType, ErrorEffect, FaultDecision
from emulator.http import OperationInfo, Request, Response
from emulator.numbers import parse_decimal
from emulator.oss.exceptions import OssError
from emulator.oss.responses import Admission, handle_oss, safe_classify
from emulator.redaction import redact_path

if TYPE_CHECKING:
    from emulator.state import EmulatorState

log = logging.getLogger("emulator.app")

ControlHandler = Callable[[Request], Response]
CONTROL_PREFIX = "/_emulator/"
# Operations after which the VOD lifecycle looks for news: OSS writes that can finish an
# upload, and the VOD calls a client polls with.
_VOD_TICK_AFTER = frozenset(
    {
        "PutObject",
        "CompleteMultipartUpload",
        "AppendObject",
        "CopyObject",
        "GetVideoInfo",
        "GetVideoInfos",
        "GetVideoList",
        "GetPlayInfo",
        "SearchMedia",
        "GetImageInfo",
        "GetMezzanineInfo",
    }
)


def _no_control_plane(request: Request) -> Response:
    body = json.dumps(
        {"Code": "NotFound", "Message": "The emulator control plane is not installed."}
    ).encode()
    return Response(status=404, headers=[("Content-Type", "application/json")], body=body)


class App:
    """Serves one :class:`~emulator.state.EmulatorState`. Stateless itself; thread-safe."""

    def __init__(self, state: EmulatorState, *, control: ControlHandler | None = None) -> None:
        self.state = state
        self.control: ControlHandler = control or _no_control_plane

    def _is_control(self, request: Request) -> bool:
        return request.raw_path.startswith(CONTROL_PREFIX)

    @staticmethod
    def _is_rpc(request: Request) -> bool:
        """RPC by signature/parameters, or by a ``vod.``/``sts.`` host (proxy traffic such
        as voduploadsdk's unsigned form post, whose Action is only in the body)."""
        host = request.host.lower()
        return rpc.is_rpc_request(request) or host.startswith(("vod.", "sts."))

    def classify(self, request: Request) -> OperationInfo:
        """What ``request`` is, without reading its body (except an RPC form body when
        the body is already present)."""
        if self._is_control(request):
            # A token path may name a full AccessKeyId: the request log shows it redacted.
            operation = redact_path(request.raw_path)[len(CONTROL_PREFIX) :]
            return OperationInfo(service="control", operation=operation or "Unknown")
        if self._is_rpc(request):
            return rpc.classify(request)
        target = safe_classify(request)
        if isinstance(target, OssError):
            return OperationInfo(service="oss", operation="Unknown")
        part_number = parse_decimal(target.params.get("partNumber", ""), max_digits=6)
        return OperationInfo(
            service="oss",
            operation=target.operation,
            bucket=target.bucket,
            key=target.key,
            part_number=part_number,
        )

    def handle(
        self,
        request: Request,
        *,
        decision: FaultDecision | None = None,
        decided: bool = False,
        admitted: tuple[OperationInfo, Admission] | None = None,
    ) -> Response:
        """Answer ``request``; never raises for anything a client can send.

        ``admitted``: an OSS request the socket server classified and admitted from its
        head (:func:`emulator.oss.responses.admit_oss`); neither is done again."""
        if admitted is not None:
            info, admission = admitted
            is_rpc = False
        else:
            if self._is_control(request):
                return self.control(request)
            # Classified again even when the server already did: an RPC form body (the
            # voduploadsdk telemetry) names its Action only once the body is read.
            info, admission = self.classify(request), None
            is_rpc = self._is_rpc(request)
        if not decided:
            decision = self.state.faults.decide(info, now=self.state.clock.now())
        transport = decision.transport if decision is not None else None
        error = decision.error if decision is not None else None
        if error is not None:
            response = self._error(request, is_rpc, error.status, error.code, error.message)
        elif transport is not None and transport.action is EffectType.RESET_AFTER_BODY:
            response = Response(status=500, headers=[], body=b"")
        elif is_rpc:
            response = self._rpc(request)
        else:
            response = handle_oss(self.state, request, admitted=admission)
        if transport is not None:
            response.transport = transport
        if info.operation in _VOD_TICK_AFTER and response.status < 300:
            self._tick_vod()
        self.record(request, info, response, decision)
        return response

    def _tick_vod(self) -> None:
        """An object may just have appeared (an upload finished) or a VOD call changed a
        video: let the VOD lifecycle announce what changed (EMU-VOD-020)."""
        try:
            self.state.vod.tick()
        except Exception:
            log.exception("VOD lifecycle tick failed")

    def record(
        self,
        request: Request,
        info: OperationInfo,
        response: Response | None,
        decision: FaultDecision | None,
    ) -> None:
        """Log an emulated request for the control plane (``response=None``: the
        connection was reset before the app ran). Status 0 means no status line was
        sent: the transport fault closed the connection instead."""
        unanswered = response is None or (
            response.transport is not None and response.transport.action in UNANSWERED
        )
        status = 0 if unanswered or response is None else response.status
        fault_id = None if decision is None else decision.fault_id
        self.state.requests.record(
            request, info, status=status, at=self.state.clock.now(), fault_id=fault_id
        )
        # What ``vodref-emulator --debug`` shows per request. The operation, bucket and key
        # only: the query string and headers carry signatures, key ids and tokens.
        log.debug(
            "%s %s:%s %s/%s -> %s%s",
            request.method,
            info.service,
            info.operation,
            info.bucket or "-",
            info.key or "-",
            status or "no answer",
            f" (fault {fault_id})" if fault_id else "",
        )

    def edge_error(self, request: Request, status: int, code: str, message: str) -> Response:
        """An error the server answers before the app runs (bad framing, a full server,
        an oversize body), in the format of the service the request is for (EMU-SEC-010):
        control-plane JSON, RPC JSON/XML, or OSS XML with its request id."""
        if self._is_control(request):
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            return Response(
                status=status, headers=[("Content-Type", "application/json")], body=body
            )
        if self._is_rpc(request):
            product = rpc.classify(request).service
            return rpc.error_response(
                request, status=status, code=code, message=message, product=product
            )
        return handle_oss(
            self.state, request, injected=ErrorEffect(status=status, code=code, message=message)
        )

    def _rpc(self, request: Request) -> Response:
        try:
            return rpc.handle(self.state, request)
        except Exception:
            log.exception("RPC handler failed on %s %s", request.method, request.raw_path[:200])
            body = json.dumps(
                {"Code": "InternalError", "Message": "The request processing has failed."}
            ).encode()
            return Response(status=500, headers=[("Content-Type", "application/json")], body=body)

    def _error(
        self, request: Request, is_rpc: bool, status: int, code: str, message: str
    ) -> Response:
        if not is_rpc:
            return handle_oss(
                self.state, request, injected=ErrorEffect(status=status, code=code, message=message)
            )
        product = rpc.classify(request).service
        return rpc.error_response(
            request, status=status, code=code, message=message or code, product=product
        )


def create_app(state: EmulatorState, *, control: ControlHandler | None = None) -> App:
    """The app serving ``state``; ``control`` handles ``/_emulator/...`` when given."""
    return App(state, control=control)
