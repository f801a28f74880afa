"""Bodies written to disk: pooled mappings reused request after request, O_DIRECT writes."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import oss2

from emulator.blobs import DiskBlobStore
from emulator.body_memory import BodyBuffers
from emulator.config import EmulatorConfig
from emulator.oss.checksums import crc64
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

KIB = 1024


def _mapping(data: bytes) -> mmap.mmap:
    buffer = mmap.mmap(-1, len(data), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    buffer.write(data)
    return buffer


def test_a_given_back_mapping_is_lent_again_for_the_same_length() -> None:
    """EMU-SEC-001: the pool lends an idle mapping of the asked length, else a new one,
    and keeps at most its idle limit."""
    pool = BodyBuffers(idle_limit=3 * 256 * KIB)
    first, faulted = pool.take(256 * KIB)
    assert not faulted and len(first) == 256 * KIB
    pool.give_back(first)
    again, faulted = pool.take(256 * KIB)
    assert again is first and faulted
    other, faulted = pool.take(300 * KIB)
    assert other is not first and not faulted and len(other) == 300 * KIB
    pool.give_back(again)
    pool.give_back(other)
    assert pool.idle_bytes == 556 * KIB
    third, _ = pool.take(512 * KIB)
    pool.give_back(third)  # over the idle limit: unmapped, not kept
    assert third.closed and pool.idle_bytes == 556 * KIB


def test_disk_blobs_from_mappings_and_bytes_read_back_whole(tmp_path: Path) -> None:
    """EMU-PER-005: a page-aligned body (aligned head written with O_DIRECT where the
    file system takes it, unaligned tail through the page cache) and a bytes body both
    read back exactly."""
    store = DiskBlobStore(tmp_path)
    for size in (mmap.PAGESIZE, 3 * mmap.PAGESIZE + 123, 1024 * KIB, 100):
        data = os.urandom(size)
        from_mapping = store.put(_mapping(data))
        from_bytes = store.put(data)
        assert store.read(from_mapping) == data == store.read(from_bytes)
    assert not list((tmp_path / "tmp").iterdir())


def test_parts_reusing_one_pooled_mapping_keep_their_own_bytes(tmp_path: Path) -> None:
    """EMU-PER-005: with --data-dir, equal-sized parts are read into the same pooled
    mapping one after another; each stored part keeps its own bytes, and the object's
    content and CRC-64 are those of the parts in order."""
    config = EmulatorConfig(data_dir=tmp_path / "data", fsync=True)
    parts = [os.urandom(512 * KIB) for _ in range(4)] + [os.urandom(300 * KIB)]
    with EmulatorState(config) as state, ThreadedServer(state) as server:
        auth = oss2.Auth(config.access_key_id, config.access_key_secret)
        session = oss2.Session()
        bucket = oss2.Bucket(auth, server.url, "pool-bucket", session=session)
        bucket.create_bucket()
        upload_id = bucket.init_multipart_upload("k").upload_id
        infos = []
        for number, data in enumerate(parts, start=1):
            result = bucket.upload_part("k", upload_id, number, data)
            infos.append(oss2.models.PartInfo(number, result.etag))
        assert server.body_buffers.idle_bytes >= 512 * KIB
        bucket.complete_multipart_upload("k", upload_id, infos)
        whole = b"".join(parts)
        stored = bucket.get_object("k")
        assert stored.read() == whole
        assert int(stored.headers["x-oss-hash-crc64ecma"]) == crc64(whole)
        session.session.close()
