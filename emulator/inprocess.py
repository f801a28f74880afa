"""In-process mode: ``mock_vod()`` routes SDK traffic to an emulator app without a socket.

Like moto's ``mock_aws``, and for the same reason (fast, hermetic tests), but the SDKs
here use two HTTP stacks, so two interception points:

- oss2, alibabacloud-oss-v2, voduploadsdk's telemetry and :class:`emulator.control.Client`
  use the standard ``requests``: a :class:`responses.RequestsMock` callback answers them;
- aliyunsdkcore (VOD and STS through aliyun-python-sdk-*) uses its *vendored* requests
  2.18, which ``responses`` does not see: we patch its ``HTTPAdapter.send`` (the single
  point every vendored request goes through) for the duration of the mock.

Both call :meth:`InProcessTransport.exchange`, which builds an :class:`~emulator.http.Request`,
calls the same app the socket server serves, and enacts the response's transport fault as
the exception the client would meet on a real socket: a reset or a dropped response is a
``ConnectionError``, a stall or delay beyond the client's read timeout a ``ReadTimeout``, a
truncated body an incomplete read when the client reads it.

Intercepted hosts: the emulator's own name (``oss-emulator.vodref.test``, in the reserved
``.test`` domain so it can never resolve, with ``bucket.`` subdomains for virtual-hosted
OSS) and, unless ``intercept_aliyuncs=False``, every ``*.aliyuncs.com`` host, so code with
hard-coded endpoints (voduploadsdk) runs unchanged. Other URLs pass through to the network.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
import unittest
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from http.client import RemoteDisconnected
from typing import Any, ParamSpec, TypeVar
from unittest import mock
from urllib.parse import urlsplit

import requests

try:
    import responses
except ImportError as missing:  # an install without the extra: say which one
    raise ImportError(
        "the emulator's in-process mode (mock_vod, the in-process transport) needs the "
        "'responses' package: pip install 'vodref[emulator]'"
    ) from missing
from aliyunsdkcore.vendored.requests import adapters as vendored_adapters
from aliyunsdkcore.vendored.requests import exceptions as vendored_exceptions
from aliyunsdkcore.vendored.requests import models as vendored_models
from aliyunsdkcore.vendored.requests import structures as vendored_structures
from aliyunsdkcore.vendored.requests.packages.urllib3.exceptions import (
    ProtocolError as VendoredProtocolError,
)
from aliyunsdkcore.vendored.requests.utils import get_encoding_from_headers
from urllib3.exceptions import ProtocolError

from emulator.app import App, create_app
from emulator.config import EmulatorConfig
from emulator.control import Client
from emulator.control.responses import ControlHandler
from emulator.faults.effects import EffectType, TransportEffect
from emulator.http import Headers, Request
from emulator.state import EmulatorState

P = ParamSpec("P")
R = TypeVar("R")

EMULATOR_HOST = "oss-emulator.vodref.test"
EMULATOR_URL = f"http://{EMULATOR_HOST}"

_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH")


def _host_pattern(intercept_aliyuncs: bool) -> re.Pattern[str]:
    hosts = [re.escape(EMULATOR_HOST)]
    if intercept_aliyuncs:
        hosts.append(r"aliyuncs\.com")
    alternatives = "|".join(hosts)
    return re.compile(rf"^https?://(?:[^/?#@]*\.)?(?:{alternatives})(?::\d+)?(?:[/?#]|$)", re.I)


class TransportFailure(Exception):
    """What a client would see on a socket, stack-neutral; each adapter maps it to its own
    ``requests`` exception family."""

    def __init__(self, kind: str, reason: BaseException | str) -> None:
        super().__init__(str(reason))
        self.kind = kind  # "connection" or "read_timeout"
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _read_timeout(timeout: object) -> float | None:
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    if isinstance(timeout, int | float):
        return float(timeout)
    return None


def _body_bytes(body: object) -> bytes:
    """Whatever a ``requests`` body may be: bytes, str, a file object or an iterator."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    read = getattr(body, "read", None)
    if callable(read):
        data = read()
        return data.encode() if isinstance(data, str) else bytes(data)
    chunks = []
    for chunk in body:  # type: ignore[attr-defined]
        chunks.append(chunk.encode() if isinstance(chunk, str) else bytes(chunk))
    return b"".join(chunks)


class InProcessTransport:
    """Turns one intercepted HTTP exchange into an app call and back."""

    def __init__(self, app: App) -> None:
        self.app = app

    def exchange(
        self,
        *,
        method: str,
        url: str,
        headers: list[tuple[str, str | bytes]],
        body: bytes,
        timeout: float | None,
    ) -> Answer:
        parts = urlsplit(url)
        # A requests PreparedRequest carries no Host header: the URL's authority is it.
        # A header value given as bytes goes on the wire as those bytes, which a server
        # reads as ISO-8859-1: the same here, so both modes see the same text.
        texts = [(k, v.decode("iso-8859-1") if isinstance(v, bytes) else v) for k, v in headers]
        host = next((v for k, v in texts if k.lower() == "host"), parts.netloc)
        if not any(k.lower() == "host" for k, _ in texts):
            texts = [("Host", host), *texts]
        request = Request(
            method=method.upper(),
            raw_path=parts.path or "/",
            raw_query=parts.query,
            headers=Headers(texts),
            body=body,
            host=host,
            scheme=parts.scheme or "http",
        )
        # Decide here, as the socket server does before reading a body: a reset before
        # the body must not run the operation, which the app alone cannot know. Classify
        # without the body, as the server must, so faults match alike in both modes.
        state = self.app.state
        info = self.app.classify(replace(request, body=b""))
        decision = state.faults.decide(info, now=state.clock.now())
        if (
            decision is not None
            and decision.transport is not None
            and decision.transport.action is EffectType.RESET_BEFORE_BODY
        ):
            self.app.record(request, info, None, decision)
            _enact(decision.transport, b"", timeout)
        response = self.app.handle(request, decision=decision, decided=True)
        data = b"" if request.method == "HEAD" else response.body_bytes()
        answer_headers = list(response.headers)
        if not any(k.lower() == "content-length" for k, _ in answer_headers):
            length = response.content_length if response.content_length is not None else len(data)
            answer_headers.append(("Content-Length", str(length)))
        if response.transport is not None:
            data = _enact(response.transport, data, timeout)
        return Answer(status=response.status, headers=answer_headers, body=data)


def _enact(effect: TransportEffect, body: bytes, timeout: float | None) -> bytes:
    """Play a transport fault: sleep as a socket client would wait, then raise or return
    the (possibly cut) body."""
    action = effect.action
    if action in (EffectType.RESET_BEFORE_BODY, EffectType.RESET_AFTER_BODY):
        raise TransportFailure("connection", ConnectionResetError(104, "Connection reset by peer"))
    if action is EffectType.DROP_AFTER_COMMIT:
        raise TransportFailure(
            "connection", RemoteDisconnected("Remote end closed connection without response")
        )
    if action in (EffectType.STALL, EffectType.DELAY):
        if timeout is not None and timeout < effect.seconds:
            time.sleep(timeout)
            raise TransportFailure("read_timeout", f"Read timed out. (read timeout={timeout})")
        time.sleep(effect.seconds)
        if action is EffectType.STALL:
            raise TransportFailure(
                "connection", RemoteDisconnected("Remote end closed connection without response")
            )
        return body
    if action is EffectType.THROTTLE:
        time.sleep(len(body) / max(effect.bytes_per_second, 1))
        return body
    # TRUNCATE: the headers promise the whole body; the client's read comes up short.
    return body[: effect.truncate_at]


def _exchange_prepared(
    transport: InProcessTransport, prepared: Any, timeout: float | None
) -> Answer:
    """One exchange for a PreparedRequest of ``requests`` or of aliyunsdkcore's vendored
    copy (the two share these attributes)."""
    return transport.exchange(
        method=prepared.method,
        url=prepared.url,
        headers=list(prepared.headers.items()),
        body=_body_bytes(prepared.body),
        timeout=timeout,
    )


# -- standard requests, through responses ------------------------------------------------
def _requests_exception(failure: TransportFailure, request: Any) -> Exception:
    if failure.kind == "read_timeout":
        return requests.exceptions.ReadTimeout(str(failure.reason), request=request)
    return requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", failure.reason), request=request
    )


def _install_responses(
    stack: ExitStack, transport: InProcessTransport, pattern: re.Pattern[str]
) -> None:
    # Chain, don't bypass: when the test already has a responses mock active, requests
    # that are not for the emulator go to it (its registered URLs keep working) instead of
    # out to the network.
    previous_send = requests.adapters.HTTPAdapter.send
    mock_requests = responses.RequestsMock(
        assert_all_requests_are_fired=False, real_adapter_send=previous_send
    )

    def forget_calls() -> None:
        # responses keeps every call (request body included) until the mock ends: an
        # in-process upload of a large file would hold all of it in memory. We never
        # assert on responses' call lists, so drop them as we go.
        mock_requests.calls.reset()
        for registered in mock_requests.registered():
            registered.calls.reset()

    def callback(prepared: Any) -> Any:
        forget_calls()
        timeout = _read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout"))
        try:
            answer = _exchange_prepared(transport, prepared, timeout)
        except TransportFailure as failure:
            return _requests_exception(failure, prepared)
        return (answer.status, answer.headers, answer.body)

    for method in _METHODS:
        mock_requests.add_callback(method, pattern, callback=callback)
    # Everything else (a socket emulator, a real service) goes out as usual.
    mock_requests.add_passthru(re.compile(r".*"))
    stack.enter_context(mock_requests)


# -- aliyunsdkcore's vendored requests ----------------------------------------------------
def _install_vendored(
    stack: ExitStack, transport: InProcessTransport, pattern: re.Pattern[str]
) -> None:
    real_send = vendored_adapters.HTTPAdapter.send

    def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not pattern.match(request.url or ""):
            return real_send(adapter, request, *args, **kwargs)
        timeout = _read_timeout(kwargs.get("timeout", args[1] if len(args) > 1 else None))
        try:
            answer = _exchange_prepared(transport, request, timeout)
        except TransportFailure as failure:
            if failure.kind == "read_timeout":
                raise vendored_exceptions.ReadTimeout(
                    str(failure.reason), request=request
                ) from None
            raise vendored_exceptions.ConnectionError(
                VendoredProtocolError("Connection aborted.", failure.reason), request=request
            ) from None
        response = vendored_models.Response()
        response.status_code = answer.status
        response.headers = vendored_structures.CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response._content_consumed = True
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url
        response.request = request
        response.connection = adapter
        return response

    stack.enter_context(mock.patch.object(vendored_adapters.HTTPAdapter, "send", send))


@dataclass(frozen=True, slots=True, kw_only=True)
class MockVod:
    """What ``with mock_vod() as vod`` yields.

    ``url`` is the endpoint to give every SDK (OSS path style and virtual-hosted style
    both work; VOD and STS are served on it too); ``control`` is a control-plane client
    that works in-process.
    """

    state: EmulatorState
    url: str
    host: str
    app: App
    transport: InProcessTransport
    control: Client

    @property
    def access_key_id(self) -> str:
        return self.state.config.access_key_id

    @property
    def access_key_secret(self) -> str:
        return self.state.config.access_key_secret

    @property
    def region(self) -> str:
        return self.state.config.region


@contextmanager
def _mock_vod(
    *,
    state: EmulatorState | None,
    config: EmulatorConfig | None,
    intercept_aliyuncs: bool,
) -> Iterator[MockVod]:
    owned = state is None
    state = state if state is not None else EmulatorState(config)
    app = create_app(state, control=ControlHandler(state))
    transport = InProcessTransport(app)
    pattern = _host_pattern(intercept_aliyuncs)
    with ExitStack() as stack:
        if owned:
            # A state made here is closed here: its database, and its data directory's lock,
            # so the next mock_vod on the same directory can open it.
            stack.callback(state.close)
        _install_responses(stack, transport, pattern)
        _install_vendored(stack, transport, pattern)
        control = Client(EMULATOR_URL)
        stack.callback(control.close)
        yield MockVod(
            state=state,
            url=EMULATOR_URL,
            host=EMULATOR_HOST,
            app=app,
            transport=transport,
            control=control,
        )


class mock_vod:
    """Route oss2, alibabacloud-oss-v2 and aliyunsdkcore to an in-process emulator.

    As a context manager it yields a :class:`MockVod`. As a decorator it runs the function
    inside a fresh mock, handed to it as the keyword argument ``vod`` with
    ``pass_mock=True``; on a class, every test gets a fresh mock (``self.vod`` in a
    ``unittest.TestCase``). A ``responses`` mock the test already has stays in charge of
    every URL that is not the emulator's::

        with mock_vod() as vod:
            bucket = oss2.Bucket(oss2.Auth(vod.access_key_id, vod.access_key_secret),
                                 vod.url, "media", is_path_style=True)

    Pass ``state=`` to serve an existing :class:`EmulatorState` (for example one with a
    data directory), or ``config=`` for a fresh one.
    """

    def __init__(
        self,
        *,
        state: EmulatorState | None = None,
        config: EmulatorConfig | None = None,
        intercept_aliyuncs: bool = True,
        pass_mock: bool = False,
    ) -> None:
        self._pass_mock = pass_mock
        self._state = state
        self._config = config
        self._intercept_aliyuncs = intercept_aliyuncs
        self._active: ExitStack | None = None

    def _context(self) -> Any:
        return _mock_vod(
            state=self._state, config=self._config, intercept_aliyuncs=self._intercept_aliyuncs
        )

    def __enter__(self) -> MockVod:
        if self._active is not None:
            raise RuntimeError("this mock_vod is already active")
        stack = ExitStack()
        vod: MockVod = stack.enter_context(self._context())
        self._active = stack
        return vod

    def __exit__(self, *exc_info: object) -> None:
        stack, self._active = self._active, None
        if stack is not None:
            stack.close()

    def __call__(self, target: Any) -> Any:
        """Decorate a function (a fresh emulator per call) or a class (a fresh emulator
        per test: every ``test*`` method; a ``unittest.TestCase`` gets it from ``setUp``
        through ``tearDown``, as ``self.vod``)."""
        if isinstance(target, type):
            return self._decorate_class(target)
        return self._decorate_function(target)

    def _decorate_function(self, function: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            with self._context() as vod:
                if self._pass_mock:
                    kwargs["vod"] = vod
                return function(*args, **kwargs)

        if self._pass_mock:
            # pytest reads the signature for fixtures: ``vod`` is ours, not a fixture.
            signature = inspect.signature(function)
            wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
                parameters=[p for p in signature.parameters.values() if p.name != "vod"]
            )
        return wrapper

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            return self._decorate_testcase(cls)
        for name, member in list(vars(cls).items()):
            if name.startswith("test") and callable(member):
                setattr(cls, name, self._decorate_function(member))
        return cls

    def _decorate_testcase(self, cls: type[unittest.TestCase]) -> type:
        original_setup = cls.setUp
        factory = self._context

        def set_up(test: Any) -> None:
            stack = ExitStack()
            test.vod = stack.enter_context(factory())
            # Cleanups run after tearDown, also when setUp or the test fails.
            test.addCleanup(stack.close)
            original_setup(test)

        cls.setUp = set_up  # type: ignore[method-assign,assignment]
        return cls
