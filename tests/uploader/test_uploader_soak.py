"""Soak runs over a real socket to the emulator.

- Behind ``--run-slow`` (tests/conftest.py), too long for every CI run: a file of more than
  10,000 minimum-size parts (~1 GiB): the part size grows so the file needs at most 10,000
  parts, where the JS SDK 1.5.x breaks (UP-DEV-018: no size cliff).
- Always: a chaos soak: seeded 500 / 503 / connection resets on a fraction of all requests for a
  640-part upload: nothing lost (CRC-64 equal), nothing duplicated (one video, no upload
  left open) and bounded re-sending.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from support.uploader import MIN_PART, file_crc, open_uploads, stored_object, write_file

from emulator.faults import Effect
from vodref.core import MAX_PARTS, FileState, RetryPolicy

# Chaos fails many requests; the budget must allow for it, the backoff stays short.
SOAK_RETRIES = RetryPolicy(
    max_retries=10, initial_delay=0.01, multiplier=2.0, max_delay=0.1, jitter=0.5, budget=None
)


def _write_large(directory: Path, name: str, size: int) -> Path:
    """A file of ``size`` pseudo-random bytes, written in 8 MiB chunks (randbytes refuses
    sizes above 256 MiB in one call)."""
    generator = random.Random(size)
    path = directory / name
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = min(remaining, 8 << 20)
            handle.write(generator.randbytes(chunk))
            remaining -= chunk
    return path


@pytest.mark.slow
def test_more_than_ten_thousand_parts_grow_the_part_size(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-PART-003: 10,001 minimum parts' worth of bytes upload in at most 10,000 parts."""
    size = (MAX_PARTS + 1) * MIN_PART
    path = _write_large(sizes_dir, "long.mp4", size)
    vod = make_vod(parallel=5, checkpoint_interval=0.5)
    [view] = vod.upload(path, timeout=900)
    assert view.state is FileState.SUCCESS, view.error
    assert view.part_count <= MAX_PARTS
    assert view.part_size > MIN_PART
    assert stored_object(emu, root_transport, view) == (size, file_crc(path))
    assert vod.bytes_sent == size
    assert open_uploads(emu) == []


def test_chaos_soak_loses_and_duplicates_nothing(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RETRY-001 UPL-DRV-006: 5 % of requests meet a 500, a 503 or a reset
    before or after the body; the upload still lands intact, once."""
    emu.control.start_chaos(
        seed=20170321,
        rate=0.05,
        effects=[
            Effect.error(500, "InternalError", "chaos"),
            Effect.error(503, "ServiceUnavailable", "chaos"),
            Effect.reset_before_body(),
            Effect.reset_after_body(),
        ],
    )
    size = 640 * MIN_PART - 12_345
    path = write_file(sizes_dir, "chaos.mp4", size, seed=640)
    vod = make_vod(parallel=5, retry_policy=SOAK_RETRIES)
    [view] = vod.upload(path, timeout=600)
    emu.control.stop_chaos()
    hits = emu.control.fault_hits()
    assert view.state is FileState.SUCCESS, view.error
    assert hits, "the chaos never fired"
    assert stored_object(emu, root_transport, view) == (size, file_crc(path))
    assert open_uploads(emu) == []
    videos = emu.control.state()["vod"]["videos"]
    assert [video["video_id"] for video in videos] == [view.video_id]
    # Re-sent bytes: at most the parts the faults hit (each at most part-size), and far
    # below a restart from zero.
    assert vod.bytes_sent <= size + len(hits) * view.part_size
