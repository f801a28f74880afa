"""Helpers shared by the uploader and contract tests: sample files, a callback tracer, the
emulator's views of what was uploaded, STS credentials from the emulator."""

from __future__ import annotations

import base64
import json
import os
import random
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

from vodref.checksums import crc64
from vodref.core import (
    Checkpoint,
    CheckpointPart,
    Credentials,
    FileView,
    MediaKind,
    ObjectTarget,
    RetryPolicy,
)
from vodref.transport import OssHttpTransport
from vodref.vod_api import AcsVodApi, AuthProvider, AuthRequest, UploadGrant, VodAuthProvider

KIB = 1024
MIN_PART = 100 * KIB

FAST_RETRIES = RetryPolicy(
    max_retries=5, initial_delay=0.02, multiplier=2.0, max_delay=0.2, jitter=0.5, budget=50
)


def write_file(directory: Path, name: str, size: int, seed: int = 1) -> Path:
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


class Tracer:
    """Records every callback as a tuple, in the order the uploader calls them."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()
        self.hooks: dict[str, Callable[..., object]] = {}

    def _add(self, name: str, *args: Any) -> None:
        with self.lock:
            self.events.append((name, *args))
        hook = self.hooks.get(name)
        if hook is not None:
            hook(*args)

    def callbacks(self) -> dict[str, Any]:
        return {
            "add_file_success": lambda v: self._add("added", v.name),
            "on_upload_started": lambda v: self._add("started", v.name),
            "on_upload_succeed": lambda v: self._add("succeeded", v.name),
            "on_upload_failed": lambda v, code, msg: self._add("failed", v.name, code),
            "on_upload_progress": lambda v, total, ratio: self._add("progress", v.name, ratio),
            "on_upload_bytes": lambda v, done, total: self._add("bytes", v.name, done, total),
            "on_upload_token_expired": lambda v: self._add("token_expired", v.name),
            "on_upload_canceled": lambda v, reason: self._add("canceled", v.name, reason),
            "on_upload_end": lambda: self._add("end"),
        }

    def names(self, *, skip: tuple[str, ...] = ("progress", "bytes")) -> list[tuple[Any, ...]]:
        with self.lock:
            return [e for e in self.events if e[0] not in skip]

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return [e for e in self.events if e[0] == kind]


def provider_for(emu: Any) -> VodAuthProvider:
    return VodAuthProvider(
        AcsVodApi(emu.access_key_id, emu.access_key_secret, endpoint=emu.url, region=emu.region)
    )


def stored_object(emu: Any, transport: OssHttpTransport, view: FileView) -> tuple[int, int | None]:
    """(size, CRC-64) of the uploaded object, read with the root account."""
    assert view.target is not None
    target = ObjectTarget(endpoint=emu.url, bucket=view.target.bucket, key=view.target.key)
    root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    info = transport.head_object(target, root)
    assert info is not None, "object missing"
    return info.size, info.crc64


def file_crc(path: Path) -> int:
    return crc64(path.read_bytes())


def open_uploads(emu: Any) -> list[dict[str, Any]]:
    return list(emu.control.state()["oss"]["uploads"])


def upload_part_requests(emu: Any) -> list[dict[str, Any]]:
    return [r for r in emu.control.requests() if r["operation"] == "UploadPart"]


def env_without_cloud_credentials() -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("ALIBABA_CLOUD_", "VODREF_")):
            del env[name]
    return env


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a child ``vodref`` process: no cloud credentials, and its per-user
    data and cache directories (emulator state, demo file, checkpoints) under ``tmp_path``."""
    env = env_without_cloud_credentials()
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    return env


def b64_json(value: object) -> str:
    """``value`` as base64 of JSON: how VOD encodes UploadAuth and UploadAddress."""
    return base64.b64encode(json.dumps(value).encode()).decode()


def memory_auth_provider(wall_now: float) -> AuthProvider:
    """An auth provider for the in-memory transport: grants for one video (``v1``), valid
    for 3000 s from ``wall_now`` (the clock the test drives)."""
    expires = datetime.fromtimestamp(wall_now + 3000, tz=timezone.utc)

    def provider(request: AuthRequest) -> UploadGrant:
        auth = {
            "AccessKeyId": "STS.a",
            "AccessKeySecret": "s",
            "SecurityToken": "t",
            "Expiration": "3000",
            "ExpireUTCTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        address = {"Endpoint": "http://memory", "Bucket": "b", "FileName": "v/1.mp4"}
        return UploadGrant(
            upload_auth=b64_json(auth), upload_address=b64_json(address), video_id="v1"
        )

    return provider


def sample_checkpoint(
    parts: int, *, upload_id: str = "u1", fingerprint: str = "v1:sample"
) -> Checkpoint:
    """A video checkpoint of a 200-part file with parts 1..``parts`` done."""
    return Checkpoint(
        file_name="a.mp4",
        file_size=200 * MIN_PART,
        fingerprint=fingerprint,
        media_kind=MediaKind.VIDEO,
        video_id="video",
        target=ObjectTarget(endpoint="http://e", bucket="b", key="k"),
        upload_id=upload_id,
        part_size=MIN_PART,
        parts=tuple(
            CheckpointPart(number=n, etag=f"E{n}", crc64=n * 7, size=MIN_PART)
            for n in range(1, parts + 1)
        ),
    )


ROLE_ARN = "acs:ram::1234567890123456:role/vod-uploader"


def assume_role(emu: Any, session: str = "vodref-test") -> dict[str, str]:
    """STS credentials from the emulator's AssumeRole (aliyunsdkcore over plain HTTP)."""

    client = AcsClient(emu.access_key_id, emu.access_key_secret, emu.region)
    request = AssumeRoleRequest()
    request.set_RoleArn(ROLE_ARN)
    request.set_RoleSessionName(session)
    request.set_endpoint(urlsplit(emu.url).netloc)
    request.set_protocol_type("http")
    request.set_accept_format("JSON")
    try:
        answer = json.loads(client.do_action_with_exception(request))
    finally:
        client.session.close()
    credentials: dict[str, str] = answer["Credentials"]
    return credentials


def expire_upload_tokens(emu: Any) -> list[str]:
    """Expire every live VOD UploadAuth now (the emulator's control plane); their
    token_ids."""
    expired = []
    for token in emu.control.tokens():
        if token.kind == "upload-auth" and not token.expired and not token.revoked:
            emu.control.expire_token(token)
            expired.append(token.token_id)
    return expired


def operations(emu: Any) -> list[str]:
    return [str(r["operation"]) for r in emu.control.requests()]
