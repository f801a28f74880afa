"""Where scenarios run: the emulator (default) or, opt-in, the real Alibaba Cloud.

:class:`EmulatorTarget` starts one emulator per run as a child process through its
documented command line (``python -m emulator --port 0 --in-memory``, whose first line is
``vodref-emulator listening on URL``), so the library never imports the emulator and the
service runs on its own core, or uses one already running (``--emulator-url``). Each
scenario starts from a reset; faults and settings go through the control plane
(:class:`emulator.control.Client`, imported lazily).

:class:`AliyunTarget` (:mod:`vodref.conformance.aliyun`) has no control plane: scenarios
that need one are skipped with that reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .appserver import AppServer
from .model import Scenario

__all__ = [
    "EMULATOR_ACCESS_KEY_ID",
    "EMULATOR_ACCESS_KEY_SECRET",
    "EmulatorTarget",
    "Target",
    "TargetError",
]

# The emulator's documented default root credentials (README): not secrets.
EMULATOR_ACCESS_KEY_ID = "LTAI5tEmulatorRootKey"
EMULATOR_ACCESS_KEY_SECRET = "vodref-emulator-root-secret-do-not-use-in-prod"
_LISTENING = "vodref-emulator listening on "


class TargetError(RuntimeError):
    """The target could not be started or reached."""


class Target(Protocol):
    name: str
    control_plane: bool
    prefix: str  # starts every title and source file name (the run id on the cloud)

    @property
    def http_proxy(self) -> str | None: ...

    def start(self) -> None: ...

    def skip_reason(self, scenario: Scenario) -> str | None:
        """Why this target cannot run ``scenario``, or None."""
        ...

    def app(self) -> AppServer: ...

    def prepare(self, scenario: Scenario) -> None: ...

    def act(self, action: str) -> None: ...

    def observe(self) -> Mapping[str, Sequence[Mapping[str, Any]]]: ...

    def cleanup(self) -> list[str]: ...

    def close(self) -> None: ...


class EmulatorTarget:
    name = "emulator"
    control_plane = True
    prefix = ""

    def __init__(self, url: str | None = None, *, region: str = "cn-shanghai") -> None:
        self._given_url = url
        self.url = url or ""
        self.region = region
        self._process: subprocess.Popen[str] | None = None
        self._control: Any = None
        self._app: AppServer | None = None

    @property
    def http_proxy(self) -> str | None:
        return self.url

    def start(self) -> None:
        if self._given_url is None:
            self._spawn()
        from emulator.control import Client  # noqa: PLC0415 - lazy: see the module docstring

        self._control = Client(self.url)
        try:
            self._control.health()
        except Exception as error:
            raise TargetError(f"no emulator answers at {self.url}: {error}") from None
        self._app = AppServer(
            access_key_id=EMULATOR_ACCESS_KEY_ID,
            access_key_secret=EMULATOR_ACCESS_KEY_SECRET,
            region=self.region,
            vod_endpoint=self.url,
            sts_endpoint=self.url,
        )

    def _spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if k.upper() not in _PROXY_VARIABLES}
        env["PYTHONUNBUFFERED"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0", "--in-memory"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._process = process
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith(_LISTENING):
            rest = process.stdout.read() if process.poll() is not None else ""
            self.close()
            raise TargetError(f"the emulator did not start: {first} {rest}".strip())
        self.url = first[len(_LISTENING) :].rstrip("/")
        # Keep reading its output so that it can never block on a full pipe.
        threading.Thread(
            target=lambda: [None for _ in process.stdout or ()],
            name="vodref-conformance-emulator-output",
            daemon=True,
        ).start()

    def skip_reason(self, scenario: Scenario) -> str | None:
        return None

    @property
    def control(self) -> Any:
        if self._control is None:
            raise TargetError("the target is not started")
        return self._control

    def app(self) -> AppServer:
        if self._app is None:
            raise TargetError("the target is not started")
        return self._app

    def prepare(self, scenario: Scenario) -> None:
        control = self.control
        control.reset()
        if scenario.settings:
            control.update_settings(**dict(scenario.settings))
        if scenario.faults:
            control.add_faults([dict(fault) for fault in scenario.faults])

    def act(self, action: str) -> None:
        control = self.control
        if action == "expire-tokens":
            for token in control.tokens():
                if not token.expired:
                    control.expire_token(token)
        else:
            raise ValueError(f"unknown suite action {action!r}")

    def observe(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        state = self.control.state()
        objects = [
            {**obj, "bucket": bucket["name"]}
            for bucket in state["oss"]["buckets"]
            for obj in bucket.get("objects", [])
        ]
        return {
            "objects": objects,
            "uploads": state["oss"].get("uploads", []),
            "videos": state["vod"].get("videos", []),
            "images": state["vod"].get("images", []),
            "requests": state.get("requests", []),
            "fault_hits": state.get("faults", {}).get("hits", []),
        }

    def cleanup(self) -> list[str]:
        return []  # everything lives in the emulator, which goes away with the run

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


_PROXY_VARIABLES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})
