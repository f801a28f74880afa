"""``--target aliyun``: the same scenarios against the real Alibaba Cloud. Opt-in only.

Guard rails, all enforced before any request is sent:

- the command line needs ``--i-understand-this-creates-cloud-resources`` (exit 2 without);
- credentials come from the environment only (``ALIBABA_CLOUD_ACCESS_KEY_ID``,
  ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``, optional ``ALIBABA_CLOUD_REGION_ID``), never from
  arguments, and are never printed; STS scenarios also need
  ``VODREF_CONFORMANCE_ROLE_ARN`` (a RAM role the key may assume) and are skipped without;
- every title and every source file name starts with the run id (``vodref-conf-<hex>-``,
  or ``--run-id``), so what a run created is recognisable in the console;
- scenarios that need the emulator's control plane (faults, settings, expiring tokens)
  are skipped with that reason, and checks that read the server's state are skipped;
- at the end every video and image the run created is deleted (DeleteVideo,
  DeleteImage); what could not be deleted is reported and the exit status is 4.

Videos the subject creates by itself in STS mode are found through the VideoIds it reports.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .appserver import AppServer
from .model import Mode, Scenario

__all__ = ["AliyunTarget", "CloudConfigError"]

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,40}$")


class CloudConfigError(ValueError):
    """Missing or malformed settings for ``--target aliyun``."""


class AliyunTarget:
    name = "aliyun"
    control_plane = False
    http_proxy: str | None = None

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        region: str = "cn-shanghai",
        role_arn: str | None = None,
        run_id: str | None = None,
        vod_endpoint: str | None = None,
    ) -> None:
        if not access_key_id or not access_key_secret:
            raise CloudConfigError("an AccessKeyId and an AccessKeySecret are required")
        run_id = run_id or f"vodref-conf-{secrets.token_hex(4)}"
        if not _RUN_ID.match(run_id):
            raise CloudConfigError(f"run id {run_id!r}: 3-41 letters, digits or '-'")
        self.run_id = run_id
        self.prefix = f"{run_id}-"
        self.region = region
        self.role_arn = role_arn
        self._access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        # Only for testing the target itself against the emulator (never set from the CLI).
        self._vod_endpoint = vod_endpoint
        self._app: AppServer | None = None

    @classmethod
    def from_environment(
        cls, *, run_id: str | None = None, environ: Mapping[str, str] | None = None
    ) -> AliyunTarget:
        env = os.environ if environ is None else environ
        key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
        secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
        if not key_id or not secret:
            raise CloudConfigError(
                "--target aliyun needs ALIBABA_CLOUD_ACCESS_KEY_ID and "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET in the environment"
            )
        return cls(
            access_key_id=key_id,
            access_key_secret=secret,
            region=env.get("ALIBABA_CLOUD_REGION_ID") or "cn-shanghai",
            role_arn=env.get("VODREF_CONFORMANCE_ROLE_ARN") or None,
            run_id=run_id,
        )

    def __repr__(self) -> str:
        return f"AliyunTarget(region={self.region!r}, run_id={self.run_id!r})"

    def skip_reason(self, scenario: Scenario) -> str | None:
        if scenario.needs_control_plane:
            return "needs the emulator's control plane (faults, settings or token expiry)"
        if scenario.suite_action is not None and scenario.suite_action != "change-source":
            return f"suite action {scenario.suite_action!r} needs the control plane"
        if scenario.mode is Mode.STS and not self.role_arn:
            return "STS mode needs VODREF_CONFORMANCE_ROLE_ARN"
        return None

    def start(self) -> None:
        self._app = AppServer(
            access_key_id=self._access_key_id,
            access_key_secret=self._access_key_secret,
            region=self.region,
            vod_endpoint=self._vod_endpoint,
            sts_endpoint=self._vod_endpoint,
            title_prefix=self.prefix,
            role_arn=self.role_arn or "",
        )

    def app(self) -> AppServer:
        if self._app is None:
            raise RuntimeError("the target is not started")
        return self._app

    def prepare(self, scenario: Scenario) -> None:
        pass  # nothing to reset on the real cloud; faults are never installed here

    def act(self, action: str) -> None:
        raise RuntimeError(f"suite action {action!r} needs the emulator's control plane")

    def observe(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        return {}

    def note_created(self, video_ids: Sequence[str]) -> None:
        if self._app is not None:
            for video_id in video_ids:
                self._app.note_video(video_id)

    def cleanup(self) -> list[str]:
        """Delete every video and image the run created; what could not be deleted."""
        if self._app is None:
            return []
        left: list[str] = []
        for action, kind, ids in (
            ("DeleteVideo", "VideoIds", self._app.created_videos),
            ("DeleteImage", "ImageIds", self._app.created_images),
        ):
            for item in ids:
                try:
                    self._vod_call(
                        action,
                        {kind: item, "DeleteImageType": "ImageId"}
                        if action == "DeleteImage"
                        else {kind: item},
                    )
                except Exception as error:
                    left.append(f"{kind[:-3].lower()} {item} ({type(error).__name__})")
        return left

    def _vod_call(self, action: str, params: Mapping[str, str]) -> None:
        from aliyunsdkcore.client import AcsClient  # noqa: PLC0415 - used only here
        from aliyunsdkcore.request import CommonRequest  # noqa: PLC0415

        client = AcsClient(
            self._access_key_id, self._access_key_secret, self.region, auto_retry=False
        )
        request = CommonRequest()
        request.set_accept_format("JSON")
        if self._vod_endpoint:
            parts = urlsplit(self._vod_endpoint)
            request.set_domain(parts.netloc)
            request.set_protocol_type(parts.scheme)
        else:
            request.set_domain(f"vod.{self.region}.aliyuncs.com")
            request.set_protocol_type("https")
        request.set_version("2017-03-21")
        request.set_action_name(action)
        for name, value in params.items():
            request.add_query_param(name, value)
        try:
            client.do_action_with_exception(request)
        finally:
            session = getattr(client, "session", None)
            if session is not None:
                session.close()

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
