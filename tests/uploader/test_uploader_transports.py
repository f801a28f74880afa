"""One contract, every transport (STYLE 17): the in-memory one, oss2 over a real socket to
the emulator, and oss2 into the emulator app in-process; plus the driver's deadlines on an
injected clock, over the in-memory transport."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import oss2
import pytest
from uploader_support import MIN_PART

from emulator import mock_vod
from vodref import Vod
from vodref.checkpoints import MemoryCheckpointStore
from vodref.clock import ManualClock
from vodref.core.options import RetryPolicy
from vodref.core.states import FileState
from vodref.core.values import Credentials, ErrorKind, ObjectTarget, ServiceError
from vodref.crc import crc64
from vodref.errors import CheckpointStoreError, TransportError, UploadWaitTimeout
from vodref.sources import BytesSource
from vodref.transport import OssHttpTransport
from vodref.transport.inprocess import in_process_transport
from vodref.transport.memory import MemoryTransport
from vodref.vod_api import AuthRequest, UploadGrant


@pytest.fixture(params=["memory", "socket", "inprocess"])
def transport_case(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Any, ObjectTarget, Credentials]]:
    if request.param == "memory":
        target = ObjectTarget(endpoint="http://memory", bucket="b", key="dir/object.mp4")
        yield MemoryTransport(), target, Credentials(access_key_id="a", access_key_secret="s")
        return
    if request.param == "socket":
        emu = request.getfixturevalue("vod_emulator")
        root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
        oss2.Bucket(
            oss2.Auth(root.access_key_id, root.access_key_secret), emu.url, "contract"
        ).create_bucket()
        transport = OssHttpTransport(timeout=10.0)
        yield (
            transport,
            ObjectTarget(endpoint=emu.url, bucket="contract", key="dir/object.mp4"),
            root,
        )
        transport.close()
        return
    with mock_vod() as vod:
        root = Credentials(access_key_id=vod.access_key_id, access_key_secret=vod.access_key_secret)
        transport = in_process_transport(vod.app, timeout=10.0)
        oss2.Bucket(
            oss2.Auth(root.access_key_id, root.access_key_secret), vod.url, "contract"
        ).create_bucket()
        yield (
            transport,
            ObjectTarget(endpoint=vod.url, bucket="contract", key="dir/object.mp4"),
            root,
        )
        transport.close()


def test_transport_contract(transport_case: tuple[Any, ObjectTarget, Credentials]) -> None:
    """UPL-TRN-001 UPL-TRN-002 UPL-TRN-003: the same operations answer the same way on every
    transport:
    CRC-64 of parts and objects, ListParts with CRCs, NoSuchUpload as a typed error, HEAD of
    a missing object is None."""
    transport, target, credentials = transport_case
    small = b"small object"
    stored = transport.put_object(target, credentials, data=small, headers={})
    assert stored.crc64 == crc64(small)
    parts = [bytes([n]) * MIN_PART for n in (1, 2)] + [b"tail"]
    upload_id = transport.initiate_multipart(target, credentials, headers={})
    etags = []
    for number, data in enumerate(parts, 1):
        uploaded = transport.upload_part(
            target, credentials, upload_id=upload_id, number=number, data=data
        )
        assert uploaded.crc64 == crc64(data)
        etags.append((number, uploaded.etag))
    listed = transport.list_parts(target, credentials, upload_id)
    assert [(p.number, p.size, p.crc64) for p in listed] == [
        (n, len(d), crc64(d)) for n, d in enumerate(parts, 1)
    ]
    done = transport.complete_multipart(
        target, credentials, upload_id=upload_id, parts=etags, headers={}
    )
    whole = b"".join(parts)
    assert done.crc64 == crc64(whole)
    info = transport.head_object(target, credentials)
    assert info is not None and (info.size, info.crc64) == (len(whole), crc64(whole))
    with pytest.raises(TransportError) as lost:
        transport.list_parts(target, credentials, upload_id)
    assert lost.value.error.code == "NoSuchUpload"
    second = transport.initiate_multipart(target, credentials, headers={})
    transport.abort_multipart(target, credentials, second)
    missing = ObjectTarget(endpoint=target.endpoint, bucket=target.bucket, key="nothing-here")
    assert transport.head_object(missing, credentials) is None


def _b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _memory_provider(wall_now: float) -> Any:
    """Grants for the in-memory transport, valid for 3000 s from ``wall_now``."""
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
        return UploadGrant(upload_auth=_b64(auth), upload_address=_b64(address), video_id="v1")

    return provider


def test_retry_waits_for_the_injected_clock() -> None:
    """UPL-DRV-006 UP-RETRY-005: a 503 schedules a retry 30 s later on the injected clock;
    nothing is sent again until that clock moves, then the upload completes at once."""
    clock = ManualClock()
    transport = MemoryTransport()
    transport.fail_next(
        "UploadPart",
        ServiceError(kind=ErrorKind.SERVICE, code="ServiceUnavailable", http_status=503),
    )
    vod = Vod(
        part_size=MIN_PART,
        parallel=1,
        transport=transport,
        clock=clock,
        auth_provider=_memory_provider(clock.wall()),
        checkpoint_store=MemoryCheckpointStore(),
        retry_policy=RetryPolicy(initial_delay=30.0, max_delay=30.0, jitter=0.0),
    )
    try:
        data = bytes(range(256)) * 1200
        vod.add_file(BytesSource(data, name="clock.mp4"))
        vod.start_upload()
        with pytest.raises(UploadWaitTimeout):
            vod.wait(timeout=0.6)
        assert transport.calls.count("UploadPart") == 1
        clock.advance(30.0)
        [view] = vod.wait(timeout=5)
        assert view.state is FileState.SUCCESS, view.error
        assert transport.objects[("b", "v/1.mp4")] == data
    finally:
        vod.close()


class _BrokenStore(MemoryCheckpointStore):
    def save(self, key: str, record: Any) -> None:
        raise CheckpointStoreError("disk full")


def test_a_failing_checkpoint_store_does_not_stop_the_upload() -> None:
    """UPL-DRV-001 UPL-CKPT-003: a store that cannot write is logged; the upload completes."""
    transport = MemoryTransport()
    vod = Vod(
        part_size=MIN_PART,
        transport=transport,
        auth_provider=_memory_provider(time.time()),
        checkpoint_store=_BrokenStore(),
    )
    try:
        data = bytes(range(200)) * 2000
        [view] = vod.upload(BytesSource(data, name="nodisk.mp4"), timeout=10)
        assert view.state is FileState.SUCCESS, view.error
        assert transport.objects[("b", "v/1.mp4")] == data
    finally:
        vod.close()
