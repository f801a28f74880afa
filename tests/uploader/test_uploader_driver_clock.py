"""The driver over the in-memory transport: deadlines on an injected clock, and a checkpoint
store that cannot write."""

from __future__ import annotations

import time
from typing import Any

import pytest
from support.uploader import MIN_PART, memory_auth_provider

from vodref import Vod
from vodref.core import ErrorKind, FileState, RetryPolicy, ServiceError
from vodref.errors import CheckpointStoreError, UploadWaitTimeout
from vodref.sources import BytesSource
from vodref.testing import ManualClock, MemoryCheckpointStore, MemoryTransport


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
        auth_provider=memory_auth_provider(clock.wall()),
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
        auth_provider=memory_auth_provider(time.time()),
        checkpoint_store=_BrokenStore(),
    )
    try:
        data = bytes(range(200)) * 2000
        [view] = vod.upload(BytesSource(data, name="nodisk.mp4"), timeout=10)
        assert view.state is FileState.SUCCESS, view.error
        assert transport.objects[("b", "v/1.mp4")] == data
    finally:
        vod.close()
