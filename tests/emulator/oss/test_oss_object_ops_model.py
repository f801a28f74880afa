"""The model half of AppendObject, CopyObject, UploadPartCopy and the object ACL
(no socket; the SDK-level tests drive the same operations over the wire).
Requirements: specs/emulator-oss.md §2."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.oss import object_ops
from emulator.oss.checksums import crc64
from emulator.oss.exceptions import OssError, PositionNotEqualToLength
from emulator.oss.models import NewObject
from emulator.state import EmulatorState

BUCKET = "ops"


def _state() -> EmulatorState:
    state = EmulatorState()
    state.oss.ensure_bucket(BUCKET)
    return state


def _append(state: EmulatorState, key: str, position: int, data: bytes) -> int:
    info = object_ops.append_object(
        state.oss, BUCKET, key, position=position, body=data,
        md5_digest=hashlib.md5(data).digest(), new=NewObject(),
    )  # fmt: skip
    return info.size


@given(st.lists(st.binary(max_size=64), min_size=1, max_size=6))
def test_appends_chain_crc_and_bytes(pieces: list[bytes]) -> None:
    """EMU-OSS-050: each append at the current length extends the object; its CRC-64 is
    the CRC of the whole concatenation."""
    state = _state()
    position = 0
    for piece in pieces:
        position = _append(state, "log", position, piece)
    stored = state.oss.get_object(BUCKET, "log")
    whole = b"".join(pieces)
    assert stored.info.object_type == "Appendable"
    assert (stored.info.size, stored.info.crc64) == (len(whole), crc64(whole))
    assert b"".join(state.oss.iter_object(stored, 0, len(whole))) == whole
    state.db.close()


def test_append_position_and_type_errors() -> None:
    """EMU-OSS-050."""
    state = _state()
    with pytest.raises(PositionNotEqualToLength) as raised:
        _append(state, "log", 3, b"x")
    assert raised.value.next_position == 0
    _append(state, "log", 0, b"abc")
    with pytest.raises(PositionNotEqualToLength) as raised:
        _append(state, "log", 1, b"x")
    assert (raised.value.status, raised.value.next_position) == (409, 3)
    state.oss.put_object(
        BUCKET, "plain", b"p", md5_digest=hashlib.md5(b"p").digest(), new=NewObject()
    )
    with pytest.raises(OssError) as error:
        _append(state, "plain", 1, b"x")
    assert (error.value.status, error.value.code) == (409, "ObjectNotAppendable")
    assert state.oss.get_object(BUCKET, "log").info.size == 3  # nothing changed
    state.db.close()


def test_copy_keeps_or_replaces_metadata_and_owns_its_bytes() -> None:
    """EMU-OSS-051."""
    state = _state()
    data = b"copy me" * 10
    state.oss.put_object(
        BUCKET, "src", data, md5_digest=hashlib.md5(data).digest(),
        new=NewObject(content_type="text/plain", metadata={"who": "alice"}),
    )  # fmt: skip
    kept = object_ops.copy_object(
        state.oss, source_bucket=BUCKET, source_key="src", bucket=BUCKET, key="kept",
        replace_metadata=False, new=NewObject(metadata={"who": "bob"}),
    )  # fmt: skip
    replaced = object_ops.copy_object(
        state.oss, source_bucket=BUCKET, source_key="src", bucket=BUCKET, key="replaced",
        replace_metadata=True, new=NewObject(metadata={"who": "bob"}),
    )  # fmt: skip
    assert (kept.metadata, kept.content_type, kept.etag) == (
        {"who": "alice"},
        "text/plain",
        hashlib.md5(data).hexdigest().upper(),
    )
    assert replaced.metadata == {"who": "bob"}
    state.oss.delete_object(BUCKET, "src")
    stored = state.oss.get_object(BUCKET, "kept")
    assert b"".join(state.oss.iter_object(stored, 0, stored.info.size)) == data
    with pytest.raises(OssError, match="NoSuchKey"):
        object_ops.copy_object(
            state.oss, source_bucket=BUCKET, source_key="src", bucket=BUCKET, key="x",
            replace_metadata=False, new=NewObject(),
        )  # fmt: skip
    state.db.close()


def test_upload_part_copy_ranges_and_object_acl() -> None:
    """EMU-OSS-052, EMU-OSS-053."""
    state = _state()
    data = bytes(range(256)) * 4
    state.oss.put_object(
        BUCKET, "src", data, md5_digest=hashlib.md5(data).digest(), new=NewObject()
    )
    upload = state.oss.initiate_upload(BUCKET, "dst", new=NewObject())
    part = object_ops.upload_part_copy(
        state.oss, source_bucket=BUCKET, source_key="src", copy_range="bytes=10-19",
        bucket=BUCKET, key="dst", upload_id=upload.upload_id, part_number=1,
    )  # fmt: skip
    assert (part.size, part.etag) == (10, hashlib.md5(data[10:20]).hexdigest().upper())
    for bad in ("bytes=5-1", "bytes=0-1024", "items=0-1", "bytes=-3"):
        with pytest.raises(OssError, match="InvalidArgument"):
            object_ops.parse_copy_range(bad, len(data))
    assert object_ops.get_object_acl(state.oss, BUCKET, "src") == "default"
    object_ops.put_object_acl(state.oss, BUCKET, "src", "public-read")
    assert object_ops.get_object_acl(state.oss, BUCKET, "src") == "public-read"
    with pytest.raises(OssError, match="InvalidArgument"):
        object_ops.put_object_acl(state.oss, BUCKET, "src", "everyone")
    with pytest.raises(OssError, match="NoSuchKey"):
        object_ops.put_object_acl(state.oss, BUCKET, "missing", "private")
    state.db.close()
