"""The driver over the in-memory transport: deadlines on an injected clock, and a checkpoint
store that cannot write."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest
from support.uploader import MIN_PART, b64_json

from vodref import Vod
from vodref.core import ErrorKind, FileState, RetryPolicy, ServiceError
from vodref.errors import CheckpointStoreError, UploadWaitTimeout
from vodref.sources import BytesSource
from vodref.testing import ManualClock, MemoryCheckpointStore, MemoryTransport
from vodref.vod_api import AuthRequest, UploadGrant


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
        return UploadGrant(
            upload_auth=b64_json(auth), upload_address=b64_json(address), video_id="v1"
        )

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
