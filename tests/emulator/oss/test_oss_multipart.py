"""Multipart uploads through oss2, including resumable upload/download with CRC on."""

from __future__ import annotations

import hashlib
import os

import oss2
import pytest
from oss2.models import PartInfo
from support.checksums import crc64

KIB = 1024


def upload_parts(bucket: oss2.Bucket, key: str, parts: list[bytes]) -> tuple[str, list[PartInfo]]:
    upload_id = bucket.init_multipart_upload(key).upload_id
    infos = []
    for number, data in enumerate(parts, start=1):
        result = bucket.upload_part(key, upload_id, number, data)
        assert result.etag == hashlib.md5(data).hexdigest().upper()
        assert result.crc == crc64(data)
        infos.append(PartInfo(number, result.etag, size=len(data), part_crc=result.crc))
    return upload_id, infos


def test_multipart_roundtrip(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-011 EMU-OSS-012 EMU-OSS-013 EMU-OSS-015: ETag MD5-of-MD5s-N, combined CRC,
    parts referenced (not copied), ranged GET across part boundaries."""
    parts = [os.urandom(100 * KIB), os.urandom(150 * KIB), os.urandom(7)]
    upload_id, infos = upload_parts(bucket, "big/video.mp4", parts)
    assert len(upload_id) == 32 and upload_id == upload_id.upper()
    blobs_before = oss_emulator.state.blobs.ids()
    result = bucket.complete_multipart_upload("big/video.mp4", upload_id, infos)
    data = b"".join(parts)
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert result.etag == f"{expected.upper()}-3"
    assert result.crc == crc64(data)
    assert oss_emulator.state.blobs.ids() == blobs_before  # no copy
    got = bucket.get_object("big/video.mp4")
    assert got.read() == data
    head = bucket.head_object("big/video.mp4")
    assert head.content_length == len(data)
    assert head.object_type == "Multipart"
    assert head.content_type == "video/mp4"
    start, end = 100 * KIB - 10, 250 * KIB + 3
    ranged = bucket.get_object("big/video.mp4", byte_range=(start, end))
    assert ranged.read() == data[start : end + 1]
    assert bucket.list_multipart_uploads().upload_list == []


def test_upload_part_replaces_same_number(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-012: a part uploaded twice keeps the last bytes; the old blob is freed."""
    upload_id = bucket.init_multipart_upload("p").upload_id
    bucket.upload_part("p", upload_id, 1, b"old")
    second = bucket.upload_part("p", upload_id, 1, b"newer")
    assert len(oss_emulator.state.blobs.ids()) == 1
    parts = bucket.list_parts("p", upload_id).parts
    assert [(p.part_number, p.size, p.etag) for p in parts] == [(1, 5, second.etag)]
    bucket.complete_multipart_upload("p", upload_id, [PartInfo(1, second.etag)])
    assert bucket.get_object("p").read() == b"newer"


def test_complete_all(bucket: oss2.Bucket) -> None:
    """EMU-OSS-013: x-oss-complete-all: yes completes every uploaded part in order."""
    parts = [os.urandom(100 * KIB), b"tail"]
    upload_id, _ = upload_parts(bucket, "all.bin", parts)
    result = bucket.complete_multipart_upload(
        "all.bin", upload_id, None, headers={"x-oss-complete-all": "yes"}
    )
    assert result.crc == crc64(b"".join(parts))
    assert bucket.get_object("all.bin").read() == b"".join(parts)


def test_complete_all_with_body_is_rejected(bucket: oss2.Bucket) -> None:
    """EMU-OSS-013: complete-all plus a part list in the body is InvalidArgument."""
    upload_id, infos = upload_parts(bucket, "x.bin", [b"only"])
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.complete_multipart_upload(
            "x.bin", upload_id, infos, headers={"x-oss-complete-all": "yes"}
        )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing-part", "InvalidPart"),
        ("wrong-etag", "InvalidPart"),
        ("unordered", "InvalidPartOrder"),
        ("duplicate", "InvalidPartOrder"),
        ("small-middle", "EntityTooSmall"),
    ],
)
def test_complete_part_rules(bucket: oss2.Bucket, case: str, code: str) -> None:
    """EMU-OSS-013: InvalidPart, InvalidPartOrder and EntityTooSmall at Complete; the
    upload stays open afterwards."""
    sizes = [100 * KIB, 100 * KIB, 10] if case != "small-middle" else [100 * KIB, 10, 10]
    upload_id, infos = upload_parts(bucket, "rules.bin", [os.urandom(n) for n in sizes])
    if case == "missing-part":
        infos.append(PartInfo(9, infos[0].etag))
    elif case == "wrong-etag":
        infos[1] = PartInfo(2, "0" * 32)
    elif case == "unordered":
        infos = [infos[1], infos[0], infos[2]]
    elif case == "duplicate":
        infos = [infos[0], infos[0], infos[2]]
    # oss2 sorts the parts it sends, so post the list exactly as built here.
    body = (
        "<CompleteMultipartUpload>"
        + "".join(
            f'<Part><PartNumber>{p.part_number}</PartNumber><ETag>"{p.etag}"</ETag></Part>'
            for p in infos
        )
        + "</CompleteMultipartUpload>"
    )
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket._do(
            "POST", bucket.bucket_name, "rules.bin", data=body, params={"uploadId": upload_id}
        )
    assert excinfo.value.status == 400
    assert excinfo.value.code == code
    assert len(bucket.list_parts("rules.bin", upload_id).parts) == 3


def test_part_number_and_upload_id_validation(bucket: oss2.Bucket) -> None:
    """EMU-OSS-012: partNumber must be 1..10000; unknown or malformed ids are NoSuchUpload."""
    upload_id = bucket.init_multipart_upload("v").upload_id
    for bad in (0, 10001):
        with pytest.raises(oss2.exceptions.InvalidArgument):
            bucket.upload_part("v", upload_id, bad, b"x")
    assert bucket.upload_part("v", upload_id, 10000, b"x").status == 200
    for unknown in ("0" * 32, "../../etc/passwd", "abc"):
        with pytest.raises(oss2.exceptions.NoSuchUpload):
            bucket.upload_part("v", unknown, 1, b"x")
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part("other-key", upload_id, 1, b"x")


def test_list_parts_pagination(bucket: oss2.Bucket) -> None:
    """EMU-OSS-014: ListParts pages with part-number-marker and returns HashCrc64ecma."""
    upload_id = bucket.init_multipart_upload("lp").upload_id
    for number in range(1, 8):
        bucket.upload_part("lp", upload_id, number, bytes([number]) * number)
    first = bucket.list_parts("lp", upload_id, max_parts=3)
    assert [p.part_number for p in first.parts] == [1, 2, 3]
    assert first.is_truncated and int(first.next_marker) == 3
    rest = bucket.list_parts("lp", upload_id, marker=first.next_marker, max_parts=10)
    assert [p.part_number for p in rest.parts] == [4, 5, 6, 7]
    assert not rest.is_truncated
    everything = list(oss2.PartIterator(bucket, "lp", upload_id, max_parts=2))
    assert [p.size for p in everything] == list(range(1, 8))
    assert [p.last_modified > 0 for p in everything] == [True] * 7


def test_list_uploads_and_abort(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-014: ListMultipartUploads with prefix/delimiter/markers; Abort frees parts."""
    ids = {}
    for key in ("a/1", "a/2", "b", "b", "c/d/e"):
        ids.setdefault(key, []).append(bucket.init_multipart_upload(key).upload_id)
    listed = list(oss2.MultipartUploadIterator(bucket, max_uploads=2))
    assert sorted((u.key, u.upload_id) for u in listed) == sorted(
        (k, i) for k, v in ids.items() for i in v
    )
    grouped = bucket.list_multipart_uploads(delimiter="/")
    assert grouped.prefix_list == ["a/", "c/"]
    assert [u.key for u in grouped.upload_list] == ["b", "b"]
    assert [u.key for u in bucket.list_multipart_uploads(prefix="a/").upload_list] == [
        "a/1",
        "a/2",
    ]
    upload_id = ids["b"][0]
    bucket.upload_part("b", upload_id, 1, b"part")
    assert bucket.abort_multipart_upload("b", upload_id).status == 204
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.abort_multipart_upload("b", upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("b", upload_id)
    assert oss_emulator.state.blobs.ids() == set()


def test_resumable_upload_and_download_with_crc(tmp_path, bucket: oss2.Bucket) -> None:
    """EMU-OSS-050: oss2 resumable_upload (multipart, CRC on) and resumable_download
    (ranged GETs with If-Match, CRC combined and checked) against the emulator."""
    source = tmp_path / "source.bin"
    data = os.urandom(1024 * KIB + 333)
    source.write_bytes(data)
    store = oss2.ResumableStore(root=str(tmp_path / "records"))
    result = oss2.resumable_upload(
        bucket,
        "resumable.bin",
        str(source),
        store=store,
        multipart_threshold=200 * KIB,
        part_size=200 * KIB,
        num_threads=3,
    )
    assert result.crc == crc64(data)
    assert bucket.head_object("resumable.bin").object_type == "Multipart"
    target = tmp_path / "download.bin"
    oss2.resumable_download(
        bucket,
        "resumable.bin",
        str(target),
        store=oss2.ResumableDownloadStore(root=str(tmp_path / "down-records")),
        multiget_threshold=200 * KIB,
        part_size=150 * KIB,
        num_threads=3,
    )
    assert target.read_bytes() == data
    plain = tmp_path / "plain.bin"
    bucket.get_object_to_file("resumable.bin", str(plain))
    assert plain.read_bytes() == data


def test_complete_frees_unlisted_parts(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-015: parts left out of the Complete list are deleted with the upload; the
    listed ones become the object's blobs; overwriting the object frees those too."""
    parts = [os.urandom(100 * KIB), b"middle", b"last"]
    upload_id, infos = upload_parts(bucket, "partial.bin", parts)
    assert len(oss_emulator.state.blobs.ids()) == 3
    bucket.complete_multipart_upload("partial.bin", upload_id, [infos[0], infos[2]])
    assert bucket.get_object("partial.bin").read() == parts[0] + parts[2]
    assert len(oss_emulator.state.blobs.ids()) == 2
    bucket.put_object("partial.bin", b"replaced")
    assert len(oss_emulator.state.blobs.ids()) == 1
