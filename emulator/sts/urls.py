"""STS's dispatch table: RPC ``Action`` name -> response handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.rpc.call import RpcCall
from emulator.sts import responses
from emulator.sts.models import StsBackend

Handler = Callable[[StsBackend, RpcCall], dict[str, Any]]

ACTIONS: dict[str, Handler] = {
    "AssumeRole": responses.assume_role,
}
