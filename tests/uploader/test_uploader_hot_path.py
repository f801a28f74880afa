"""The per-part path of the driver and the transport (issue 12): no thread hand-off per part,
no notification nobody listens to, the environment read once per endpoint, not per request."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import replace
from typing import Any

import oss2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.uploader import MIN_PART, memory_auth_provider

from vodref import Vod
from vodref.api.callbacks import CallbackDispatcher, Callbacks
from vodref.core import (
    Credentials,
    ErrorKind,
    FileState,
    NotifyEnded,
    NotifyProgress,
    ObjectTarget,
)
from vodref.errors import TransportError
from vodref.redact import redact
from vodref.sources import BytesSource
from vodref.testing import ManualClock, MemoryCheckpointStore, MemoryTransport
from vodref.transport import OssHttpTransport
from vodref.transport.oss_http import complete_body


class _ThreadRecordingTransport(MemoryTransport):
    """Remembers which thread sent each part."""

    def __init__(self) -> None:
        super().__init__()
        self.part_threads: list[str] = []

    def upload_part(self, *args: Any, **kwargs: Any) -> Any:
        self.part_threads.append(threading.current_thread().name)
        return super().upload_part(*args, **kwargs)


def _vod(transport: MemoryTransport, **options: Any) -> Vod:
    clock = ManualClock()
    return Vod(
        part_size=MIN_PART,
        transport=transport,
        clock=clock,
        auth_provider=memory_auth_provider(clock.wall()),
        checkpoint_store=MemoryCheckpointStore(),
        **options,
    )


def test_the_worker_that_reports_a_part_sends_the_next_one() -> None:
    """UPL-DRV-008: with one part in flight, every part of the file is sent by the same
    worker thread (the one whose report freed the slot), and no request is handed to the
    pool after the first: none per part. The object is still complete and its CRC checked."""
    transport = _ThreadRecordingTransport()
    vod = _vod(transport, parallel=1)
    try:
        data = bytes(range(256)) * (MIN_PART * 12 // 256)
        [view] = vod.upload(BytesSource(data, name="twelve.mp4"), timeout=30)
        assert view.state is FileState.SUCCESS, view.error
        assert transport.objects[("b", "v/1.mp4")] == data
        assert len(transport.part_threads) == 12
        assert len(set(transport.part_threads)) == 1, transport.part_threads
        assert vod._driver.requests_handed_off <= 2, vod._driver.requests_handed_off
    finally:
        vod.close()


def test_parallel_parts_still_run_on_parallel_workers() -> None:
    """UPL-DRV-008 UPL-DRV-002: a report that frees one slot keeps one request for its
    worker; the first batch of parts still spreads over `parallel` workers."""
    transport = _ThreadRecordingTransport()
    vod = _vod(transport, parallel=3)
    try:
        data = bytes(range(256)) * (MIN_PART * 9 // 256)
        [view] = vod.upload(BytesSource(data, name="nine.mp4"), timeout=30)
        assert view.state is FileState.SUCCESS, view.error
        assert transport.objects[("b", "v/1.mp4")] == data
        assert len(set(transport.part_threads)) == 3, transport.part_threads
        # The first batch (two parts beyond the worker's own) and the credentials request.
        assert vod._driver.requests_handed_off <= 4, vod._driver.requests_handed_off
    finally:
        vod.close()


def test_notifications_without_a_listener_are_not_queued() -> None:
    """UPL-DRV-009: with no progress callback, no progress notification reaches the
    callback thread; with one, every part's progress does, in order, and never goes back."""
    data = bytes(range(256)) * (MIN_PART * 6 // 256)
    quiet = _vod(MemoryTransport(), parallel=2)
    try:
        [view] = quiet.upload(BytesSource(data, name="quiet.mp4"), timeout=30)
        assert view.state is FileState.SUCCESS, view.error
        assert quiet._driver.notifications_queued == 0
    finally:
        quiet.close()
    seen: list[int] = []
    loud = _vod(
        MemoryTransport(),
        parallel=2,
        on_upload_bytes=lambda _info, done, _total: seen.append(done),
    )
    try:
        [view] = loud.upload(BytesSource(data, name="loud.mp4"), timeout=30)
        assert view.state is FileState.SUCCESS, view.error
        assert loud._driver.notifications_queued >= 6
        assert seen == sorted(seen) and seen[-1] == len(data)
    finally:
        loud.close()


def test_dispatcher_wants_only_what_it_would_deliver() -> None:
    """UPL-DRV-009: `CallbackDispatcher.wants` is true exactly for the notifications it
    would pass to a user callback."""
    none = Callbacks(
        add_file_success=None,
        on_upload_started=None,
        on_upload_succeed=None,
        on_upload_failed=None,
        on_upload_progress=None,
        on_upload_bytes=None,
        on_upload_token_expired=None,
        on_upload_canceled=None,
        on_upload_end=None,
    )
    lock = threading.RLock()
    progress = NotifyProgress(
        command_id=1,
        file_id="f",
        attempt=1,
        bytes_done=1,
        total_bytes=2,
        parts_done=1,
        part_count=2,
    )
    ended = NotifyEnded(command_id=2)
    view: Any = object()  # never read: wants() looks only at the callbacks
    quiet = CallbackDispatcher(none, lambda _id: view, lock)
    assert not quiet.wants(progress)
    assert not quiet.wants(ended)
    loud = CallbackDispatcher(
        replace(none, on_upload_bytes=print, on_upload_end=print), lambda _id: view, lock
    )
    assert loud.wants(progress)
    assert loud.wants(ended)


def _dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_environment_proxies_are_honoured_once_per_endpoint(
    vod_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UPL-TRN-004: the transport's own session does not read the environment per request
    (`trust_env` off), yet `HTTP_PROXY` and `NO_PROXY` still apply: read when the endpoint
    is first used. A proxy that refuses connections fails the request as a network error;
    `NO_PROXY` naming the host bypasses it."""
    root = Credentials(
        access_key_id=vod_emulator.access_key_id,
        access_key_secret=vod_emulator.access_key_secret,
    )
    oss2.Bucket(
        oss2.Auth(root.access_key_id, root.access_key_secret), vod_emulator.url, "proxied"
    ).create_bucket()
    target = ObjectTarget(endpoint=vod_emulator.url, bucket="proxied", key="p.bin")
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_dead_port()}")

    through_proxy = OssHttpTransport(timeout=10.0)
    try:
        assert through_proxy._session.session.trust_env is False
        with pytest.raises(TransportError) as caught:
            through_proxy.put_object(target, root, data=b"x", headers={})
        assert caught.value.error.kind is ErrorKind.NETWORK
    finally:
        through_proxy.close()

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    bypassing = OssHttpTransport(timeout=10.0)
    try:
        stored = bypassing.put_object(target, root, data=b"x", headers={})
        assert stored.etag
    finally:
        bypassing.close()


def test_a_proxy_password_oss2_logs_is_masked(
    vod_emulator: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """UPL-TRN-004 UPL-CLI-015: the environment's proxy is handed to oss2, whose debug lines
    print it ("Init Bucket ... proxies: {...}", -vv); the CLI's masking (``redact``) hides
    the password of a proxy URL as any secret (before: printed as given)."""
    root = Credentials(
        access_key_id=vod_emulator.access_key_id,
        access_key_secret=vod_emulator.access_key_secret,
    )
    target = ObjectTarget(endpoint=vod_emulator.url, bucket="proxied", key="p.bin")
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    password = "proxy-pass-7d1e"
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:{password}@127.0.0.1:{_dead_port()}")
    transport = OssHttpTransport(timeout=10.0)
    try:
        with caplog.at_level(logging.DEBUG, logger="oss2"), pytest.raises(TransportError):
            transport.put_object(target, root, data=b"x", headers={})
    finally:
        transport.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert password in logged  # what oss2 prints at -vv
    masked = redact(logged)
    assert "proxy-user:***@127.0.0.1" in masked and password not in masked


@given(
    parts=st.lists(
        st.tuples(st.integers(min_value=1, max_value=10_000), st.text(max_size=40)),
        max_size=30,
        unique_by=lambda part: part[0],
    )
)
def test_complete_body_is_the_bytes_oss2_would_send(parts: list[tuple[int, str]]) -> None:
    """UPL-TRN-005: the CompleteMultipartUpload body vodref builds by string joins is byte
    for byte the one oss2's ElementTree serialiser builds, whatever the ETags hold and in
    whatever order the parts come."""
    expected = oss2.xml_utils.to_complete_upload_request(
        sorted((oss2.models.PartInfo(n, etag) for n, etag in parts), key=lambda p: p.part_number)
    )
    assert complete_body(parts) == expected
