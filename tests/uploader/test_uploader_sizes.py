"""End-to-end uploads of every size class over real sockets (specs/uploader.md UP-PART-*,
specs/uploader-driver.md UPL-DRV-*): the object in the emulator has the source's size and
CRC-64, single PUT below 100 KiB, multipart at and above it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.uploader import (
    KIB,
    MIN_PART,
    file_crc,
    open_uploads,
    stored_object,
    upload_part_requests,
    write_file,
)

from vodref.core import EmptyFileError, FileState


@pytest.mark.parametrize(
    ("size", "multipart"),
    [(1, False), (MIN_PART - 1, False), (MIN_PART, True), (3 * 1024 * KIB + 17, True)],
    ids=["1B", "100KiB-1", "100KiB", "3MiB+17"],
)
def test_size_classes_land_intact(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, size: int, multipart: bool
) -> None:
    """UP-PART-001 UPL-DRV-001 UPL-TRN-001: PutObject under 100 KiB, multipart from 100 KiB;
    the object CRC-64 the service computed equals the file's."""
    path = write_file(sizes_dir, "clip.mp4", size, seed=size)
    vod = make_vod()
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert view.video_id
    assert stored_object(emu, root_transport, view) == (size, file_crc(path))
    operations = {r["operation"] for r in emu.control.requests()}
    assert ("InitiateMultipartUpload" in operations) is multipart
    assert ("PutObject" in operations) is not multipart
    assert open_uploads(emu) == []


def test_empty_file_is_refused_before_anything_changes(
    emu: Any, make_vod: Any, sizes_dir: Path
) -> None:
    """UPL-API-002: a 0-byte file raises EmptyFileError (UP-DEV-012); the list stays empty and
    the service sees nothing."""
    path = write_file(sizes_dir, "empty.mp4", 0)
    vod = make_vod()
    with pytest.raises(EmptyFileError):
        vod.add_file(path)
    assert vod.list_files() == []
    assert emu.control.requests() == []


def test_many_parts_in_order_with_parallel_requests(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-PART-002 UPL-DRV-002: 48 parts of 100 KiB, 4 in flight, every part sent once."""
    size = 48 * MIN_PART - 1234
    path = write_file(sizes_dir, "many.mp4", size, seed=7)
    vod = make_vod(parallel=4)
    [view] = vod.upload(path, timeout=60)
    assert view.state is FileState.SUCCESS, view.error
    assert view.part_count == 48
    assert stored_object(emu, root_transport, view) == (size, file_crc(path))
    numbers = [r["part_number"] for r in upload_part_requests(emu)]
    assert sorted(numbers) == list(range(1, 49))


def test_images_use_create_upload_image(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-CKPT-005 UPL-API-011: .png/.jpg go through CreateUploadImage; ImageURL is set."""
    small = write_file(sizes_dir, "cover.png", 5000, seed=3)
    large = write_file(sizes_dir, "poster.JPG", 2 * MIN_PART + 5, seed=4)
    vod = make_vod()
    views = vod.upload(small, large, timeout=30)
    assert [v.state for v in views] == [FileState.SUCCESS, FileState.SUCCESS]
    for view, path in zip(views, (small, large), strict=True):
        assert view.image_url
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    operations = [r["operation"] for r in emu.control.requests()]
    assert operations.count("CreateUploadImage") == 2
    assert "CreateUploadVideo" not in operations


def test_several_files_in_one_list(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Any
) -> None:
    """UP-STATE-006 UP-CONC-001 UPL-API-012: files upload one after another in list order;
    one end."""
    paths = [write_file(sizes_dir, f"v{i}.mp4", MIN_PART * i + i, seed=i) for i in (1, 2, 3)]
    vod = make_vod(**tracer.callbacks())
    views = vod.upload(*paths, timeout=60)
    assert all(v.state is FileState.SUCCESS for v in views)
    assert len({v.video_id for v in views}) == 3
    for view, path in zip(views, paths, strict=True):
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    started = [e[1] for e in tracer.of("started")]
    assert started == ["v1.mp4", "v2.mp4", "v3.mp4"]
    assert tracer.of("end") == [("end",)]


def test_concurrent_files_option(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-CONC-001 UPL-API-013: max_concurrent_files > 1 uploads several files at once, all
    intact."""
    paths = [write_file(sizes_dir, f"c{i}.mp4", 4 * MIN_PART + i, seed=10 + i) for i in range(4)]
    vod = make_vod(max_concurrent_files=3, parallel=2)
    views = vod.upload(*paths, timeout=60)
    assert all(v.state is FileState.SUCCESS for v in views), [v.error for v in views]
    for view, path in zip(views, paths, strict=True):
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
