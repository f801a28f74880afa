"""Types and helpers shared by the Node conformance fixtures (conftest.py) and tests.

The helpers check what the ali-oss scripts report: OSS's checksums and ETags, the
progress trace of a multipart upload and the object it leaves behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import oss2
import pytest

from emulator.credentials import CredentialKind, Scope
from support.checksums import crc64

PART_SIZE = 100 * 1024
# 10 full parts and a short last one.
MULTIPART_SIZE = 10 * PART_SIZE + 12_345


@dataclass(frozen=True)
class NodeRuntime:
    node: str
    npm: str
    version: str

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


@dataclass(frozen=True)
class NodeEmulator:
    """The running emulator as the Node scripts and the Python assertions see it."""

    state: Any
    url: str
    port: int
    access_key_id: str
    access_key_secret: str


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


NodeRunner = Callable[..., dict[str, Any]]


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def multipart_etag(data: bytes, part_size: int) -> str:
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest.upper()}-{len(parts)}"'


def pseudo_random(size: int, seed: str) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def ok(result: dict[str, Any]) -> dict[str, Any]:
    """The result of a script that must have succeeded (with its stderr on failure)."""
    assert result.get("ok") is True, json.dumps(result, indent=2)
    return result


def open_uploads(oss2_bucket: Any, key: str) -> list[str]:
    return [u.upload_id for u in oss2.MultipartUploadIterator(oss2_bucket) if u.key == key]


def temporary_credentials(emulator: NodeEmulator, scope: Scope, ttl: float = 900.0) -> Credentials:
    state = emulator.state
    cred = state.credentials.issue(
        now=state.clock.now(), ttl_seconds=ttl, kind=CredentialKind.STS, scope=scope
    )
    return Credentials(cred.access_key_id, cred.access_key_secret, cred.security_token)


def assert_progress_trace(events: list[dict[str, Any]], parts: int, *, first_done: int = 0) -> str:
    """ali-oss's progress(): ``0`` after Initiate (fresh uploads only), ``k/(N+1)`` per
    finished part, ``1`` after Complete; returns the upload id seen in the checkpoints."""
    upload_ids = {e["uploadId"] for e in events if "uploadId" in e}
    assert len(upload_ids) == 1, events
    with_checkpoint = [e for e in events if "uploadId" in e]
    done = [e["doneParts"] for e in with_checkpoint]
    if first_done == 0:
        assert with_checkpoint[0]["p"] == 0 and done[0] == 0
        done = done[1:]
    assert done == list(range(first_done + 1, parts + 1)), done
    for event in with_checkpoint[1 if first_done == 0 else 0 :]:
        assert event["p"] == pytest.approx(event["doneParts"] / (parts + 1))
    assert events[-1]["p"] == 1 and "uploadId" not in events[-1]
    return upload_ids.pop()


def assert_final_object(result: dict[str, Any], data: bytes, oss2_bucket: Any, key: str) -> None:
    complete = result["complete"]
    assert complete["status"] == 200
    assert complete["etag"] == multipart_etag(data, PART_SIZE)
    # x-oss-hash-crc64ecma on Complete is the CRC of the whole assembled object.
    assert complete["crc64"] == str(crc64(data))
    verify = result["verify"]
    assert verify["size"] == len(data)
    assert verify["head"]["contentLength"] == str(len(data))
    assert verify["head"]["crc64"] == str(crc64(data))
    assert verify["head"]["objectType"] == "Multipart"
    assert verify["head"]["contentType"] == "video/mp4"
    assert verify["head"]["etag"] == complete["etag"]
    assert verify["objectMeta"]["contentLength"] == str(len(data))
    assert verify["get"]["matches"] is True
    assert verify["get"]["length"] == len(data)
    assert verify["get"]["crc64"] == str(crc64(data))
    # The emulator's own view, over the wire with oss2 (CRC check on).
    assert oss2_bucket.get_object(key).read() == data
    meta = oss2_bucket.get_object_meta(key)
    assert meta.etag == multipart_etag(data, PART_SIZE).strip('"')
    assert open_uploads(oss2_bucket, key) == []
