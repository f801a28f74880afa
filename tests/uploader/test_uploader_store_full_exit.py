"""What a process exit costs while the checkpoint store is failing (UPL-DUR-011), and the
stop the driver machine's crash relies on (UP-API-008), pinned down step by step.

The driver state machine (test_uploader_driver_machine.py) once failed at random with "a
finished file's parts went to another upload": its model allowed an open upload on a
finished file's key only as the Initiate residual (UPL-DUR-010), which holds no part. These
tests replay the two ways it happens deterministically, through the real driver, the
in-process transport and ``emulator.mock_vod``:

- the store fills up after the VideoId was written, so the upload id is not; the process
  exits before Complete; the next one reuses the video, cannot name the upload the first
  one filled and starts another (the documented residual, now counted by the machine);
- the machine's "kill" snapshot was taken while the uploader still ran, so an upload made
  after it looked like one made before the kill; it now stops the uploader in the same
  instant, which sends nothing more (UP-API-008).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from support.lazy_store import LazyStore, uploads_lost_to_a_full_store
from support.uploader import FAST_RETRIES, MIN_PART

from emulator import mock_vod
from emulator.inprocess_transport import in_process_transport
from vodref import Vod
from vodref.checksums import crc64
from vodref.core import Credentials, FileState, ObjectTarget
from vodref.sources import BytesSource
from vodref.testing import ForwardingTransport
from vodref.transport import ObjectTransport, StoredObject
from vodref.vod_api import AcsVodApi, VodAuthProvider

DATA = random.Random(7).randbytes(3 * MIN_PART)


class FullOnceTheUploadIsNamed(LazyStore):
    """The disk fills up right after the VideoId was written: from the first flush of a
    record naming an upload id, every flush fails."""

    def flush(self) -> None:
        with self._lock:
            pending = list(self._pending.values())
        if any(getattr(record, "upload_id", None) for record in pending):
            self.full = True
        super().flush()


class HeldTransport(ForwardingTransport):
    """Holds one kind of request on the wire until ``release`` is set; ``reached`` says one
    is held. A held Complete then fails as a cut connection: the process is exiting."""

    def __init__(self, inner: ObjectTransport, held: str) -> None:
        super().__init__(inner)
        self.held = held
        self.reached = threading.Event()
        self.release = threading.Event()

    def _hold(self, operation: str) -> None:
        if operation == self.held:
            self.reached.set()
            assert self.release.wait(20), "never released"

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str:
        self._hold("initiate")
        return super().initiate_multipart(target, credentials, headers=headers)

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject:
        self._hold("complete")
        if self.held == "complete":
            raise ConnectionResetError("the process is exiting")
        return super().complete_multipart(
            target, credentials, upload_id=upload_id, parts=parts, headers=headers
        )


@pytest.fixture
def service() -> Iterator[tuple[Any, ObjectTransport, AcsVodApi]]:
    with mock_vod() as emu:
        transport = in_process_transport(emu.app, timeout=5.0)
        api = AcsVodApi(emu.access_key_id, emu.access_key_secret, endpoint=emu.url)
        yield emu, transport, api
        api.close()
        transport.close()


def _vod(transport: ObjectTransport, api: AcsVodApi, store: LazyStore) -> Vod:
    return Vod(
        part_size=MIN_PART,
        parallel=2,
        retry_policy=FAST_RETRIES,
        checkpoint_store=store,
        transport=transport,
        auth_provider=VodAuthProvider(api),
        rng=random.Random(0),
    )


def _source() -> BytesSource:
    return BytesSource(DATA, name="movie.mp4", identity="movie")


def _close_while_held(vod: Vod, transport: HeldTransport) -> None:
    """Close the uploader while the held request is on the wire: its answer arrives after
    the driver stopped taking answers, as one cut off by the exit."""
    closer = threading.Thread(target=vod.close)
    closer.start()
    assert vod._driver.wait_until(lambda: vod._driver.closed, 20, drain_callbacks=False)
    transport.release.set()
    closer.join(20)
    assert not closer.is_alive()


def test_an_exit_while_the_store_is_full_leaves_the_unwritten_upload_with_its_parts(
    service: tuple[Any, ObjectTransport, AcsVodApi],
) -> None:
    """UPL-DUR-011 UPL-DUR-002: the VideoId reached the disk, the upload id did not (the
    store filled up in between); the parts went to that upload and the process exited
    before Complete. The next process reuses the video (one file, one video), starts a new
    upload on the same key and finishes with identical bytes; the first upload stays open
    with the parts it holds, and it is exactly the one the accounting names."""
    emu, inner, api = service
    store = FullOnceTheUploadIsNamed()
    held = HeldTransport(inner, "complete")
    first = _vod(held, api, store)
    first.add_file(_source())
    first.start_upload()
    assert held.reached.wait(20)  # every part acknowledged, Complete on the wire
    [before] = first.list_files()
    assert before.upload_id is not None and before.video_id is not None
    assert first.store_failures  # the upload id was not written
    _close_while_held(first, held)
    durable = store.durable()
    lost = uploads_lost_to_a_full_store(first.list_files(), durable)
    assert lost == {before.upload_id}

    second = _vod(inner, api, LazyStore(durable))  # a new process on a freed disk
    second.add_file(_source())
    second.start_upload()
    second.wait(timeout=20)
    [after] = second.list_files()
    second.close()
    assert after.state is FileState.SUCCESS
    assert after.video_id == before.video_id and after.target == before.target
    assert after.upload_id != before.upload_id
    assert len(emu.control.state()["vod"]["videos"]) == 1
    root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    assert after.target is not None
    info = inner.head_object(after.target, root)
    assert info is not None and (info.size, info.crc64) == (len(DATA), crc64(DATA))
    # The residual: the upload the full store never named, with the parts sent to it. The
    # machine once took this for parts sent to the wrong upload (no open upload on a
    # finished key may hold parts); it now allows exactly the uploads ``lost`` names.
    [left] = emu.control.state()["oss"]["uploads"]
    assert left["key"] == after.target.key and left["upload_id"] in lost
    assert len(left["parts"]) == 3


def test_a_stop_sends_nothing_after_an_answer_that_comes_back_later(
    service: tuple[Any, ObjectTransport, AcsVodApi],
) -> None:
    """UP-API-008 (what the driver machine's crash relies on): an Initiate on the wire when
    the uploader is stopped still lands, but its answer sends no part; so a snapshot taken
    in the same instant as the stop is all a killed process would have left."""
    emu, inner, api = service
    store = LazyStore()
    held = HeldTransport(inner, "initiate")
    vod = _vod(held, api, store)
    vod.add_file(_source())
    vod.start_upload()
    assert held.reached.wait(20)
    with vod._driver.lock:  # the instant of the kill
        assert [type(r).__name__ for r in vod._core.in_flight()] == ["InitiateMultipart"]
        vod.stop_upload()
    held.release.set()
    assert vod._driver.wait_until(vod._driver.idle, 20)
    vod.close()
    [upload] = emu.control.state()["oss"]["uploads"]
    assert upload["parts"] == []
    operations = [r["operation"] for r in emu.control.requests()]
    assert "UploadPart" not in operations
    assert operations.count("InitiateMultipartUpload") == 1
