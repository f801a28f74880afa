"""Shared helpers for the VOD, STS and RPC tests: a running emulator and the real SDKs.

Every client here is an unmodified official SDK pointed at the emulator exactly as
the README's client section tells users to (each snippet there is mirrored by a helper below):

- aliyunsdkcore (RPC v1, HMAC-SHA1): ``AcsClient(..., auto_retry=False)`` plus
  ``add_endpoint(region, product, "127.0.0.1:PORT")``; STS requests also need
  ``set_protocol_type("http")`` because ``AssumeRoleRequest`` forces https;
- the tea clients (ACS3-HMAC-SHA256): ``Config(endpoint="127.0.0.1:PORT", protocol="http")``;
- oss2 with ``StsAuth`` for uploads with an UploadAuth.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import oss2
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client
from emulator.control.responses import ControlHandler
from emulator.inprocess import mock_vod
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

REGION = "cn-shanghai"


@dataclass
class RunningEmulator:
    state: EmulatorState
    url: str  # http://127.0.0.1:PORT
    # Connection pools the SDK clients opened; closed when the emulator stops, since an
    # unclosed socket is a ResourceWarning (an error under filterwarnings=error).
    closers: list[Callable[[], object]] = field(default_factory=list)
    _oss_session: oss2.Session | None = None
    _control: Client | None = None

    @property
    def control(self) -> Client:
        """The control-plane client, closed with the emulator."""
        if self._control is None:
            self._control = Client(self.url)
            self.closers.append(self._control.close)
        return self._control

    @property
    def oss_session(self) -> oss2.Session:
        """One oss2 connection pool for the test, closed with the emulator."""
        if self._oss_session is None:
            self._oss_session = oss2.Session()
            self.closers.append(self._oss_session.session.close)
        return self._oss_session

    @property
    def host_port(self) -> str:
        return self.url.removeprefix("http://")

    @property
    def access_key_id(self) -> str:
        return DEFAULT_ACCESS_KEY_ID

    @property
    def access_key_secret(self) -> str:
        return DEFAULT_ACCESS_KEY_SECRET


@contextmanager
def running_emulator(mode: str = "socket") -> Iterator[RunningEmulator]:
    """A fresh emulator over a loopback socket, or in-process (``emulator.mock_vod``,
    EMU-INP-003: the same tests pass in both modes)."""
    state = EmulatorState()
    serving = (
        ThreadedServer(state, host="127.0.0.1", port=0, control=ControlHandler(state))
        if mode == "socket"
        else mock_vod(state=state)
    )
    with serving as server:
        emulator = RunningEmulator(state=state, url=server.url.rstrip("/"))
        try:
            yield emulator
        finally:
            for close in emulator.closers:
                close()


# -- aliyunsdkcore ---------------------------------------------------------------------------


def core_client(
    emulator: RunningEmulator,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    security_token: str | None = None,
) -> AcsClient:
    """An AcsClient aimed at the emulator (README: "aliyun-python-sdk-core")."""
    key_id = access_key_id or emulator.access_key_id
    secret = access_key_secret or emulator.access_key_secret
    if security_token is not None:
        client = AcsClient(
            region_id=REGION,
            credential=StsTokenCredential(key_id, secret, security_token),
            auto_retry=False,
        )
    else:
        client = AcsClient(key_id, secret, REGION, auto_retry=False)
    client.add_endpoint(REGION, "vod", emulator.host_port)
    client.add_endpoint(REGION, "Sts", emulator.host_port)
    emulator.closers.append(client.session.close)
    return client


def core_call(client: AcsClient, request: RpcRequest) -> dict[str, Any]:
    request.set_protocol_type("http")  # AssumeRoleRequest forces https; harmless for VOD
    raw = client.do_action_with_exception(request)
    result: dict[str, Any] = json.loads(raw)
    return result


def core_error(client: AcsClient, request: RpcRequest) -> ServerException:
    """Run ``request`` and return the ServerException it must raise."""
    request.set_protocol_type("http")
    try:
        client.do_action_with_exception(request)
    except ServerException as error:
        return error
    raise AssertionError("the request succeeded but an error was expected")


# -- tea clients (ACS3) ---------------------------------------------------------------------


def tea_config(
    emulator: RunningEmulator,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    security_token: str | None = None,
) -> Any:
    """A tea Config aimed at the emulator (the README's client section, "tea clients")."""
    from alibabacloud_tea_openapi.models import Config  # noqa: PLC0415 (slow import)

    return Config(
        access_key_id=access_key_id or emulator.access_key_id,
        access_key_secret=access_key_secret or emulator.access_key_secret,
        security_token=security_token,
        endpoint=emulator.host_port,
        protocol="http",
        region_id=REGION,
    )


def tea_vod(emulator: RunningEmulator, **credentials: Any) -> Any:
    from alibabacloud_vod20170321.client import Client  # noqa: PLC0415

    return Client(tea_config(emulator, **credentials))


def tea_sts(emulator: RunningEmulator, **credentials: Any) -> Any:
    from alibabacloud_sts20150401.client import Client  # noqa: PLC0415

    return Client(tea_config(emulator, **credentials))


# -- UploadAuth / UploadAddress ---------------------------------------------------------------


def decode_b64_json(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(text))
    return decoded


@dataclass(frozen=True)
class Upload:
    """A decoded CreateUpload*/RefreshUploadVideo answer."""

    auth: dict[str, Any]
    address: dict[str, Any]

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> Upload:
        return cls(
            auth=decode_b64_json(response["UploadAuth"]),
            address=decode_b64_json(response["UploadAddress"]),
        )

    @property
    def key(self) -> str:
        return str(self.address["FileName"])

    def bucket(self, emulator: RunningEmulator) -> oss2.Bucket:
        """oss2 with StsAuth, exactly as an upload client uses an UploadAuth."""
        auth = oss2.StsAuth(
            self.auth["AccessKeyId"], self.auth["AccessKeySecret"], self.auth["SecurityToken"]
        )
        return oss2.Bucket(
            auth,
            self.address["Endpoint"],
            self.address["Bucket"],
            session=emulator.oss_session,
        )
