"""The byte sources, the C CRC-64 helpers and the UploadAuth decoder: the small pieces the
driver reads files and credentials with."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from support.uploader import b64_json, write_file

from vodref.checksums import crc64, crc64_of_parts
from vodref.errors import SourceChangedError
from vodref.sources import BytesSource, FileObjectSource, LocalFileSource
from vodref.testing import ManualClock
from vodref.upload_auth import decode_upload_address, decode_upload_auth


def test_sources_read_ranges_and_detect_truncation(tmp_path: Path) -> None:
    """UPL-SRC-001 UPL-SRC-002: pread ranges; a shrunk file is a SourceChangedError; the
    fingerprint depends on content."""
    path = write_file(tmp_path, "s.bin", 300_000)
    source = LocalFileSource(path)
    assert source.read(100, 5) == path.read_bytes()[100:105]
    fingerprint = source.fingerprint()
    with path.open("r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(SourceChangedError):
        source.read(200_000, 10)
    source.close()
    memory = BytesSource(b"abc" * 100_000)
    before = memory.fingerprint()
    memory.replace(b"abd" * 100_000)
    assert memory.fingerprint() != before != fingerprint
    stream = FileObjectSource(io.BytesIO(b"xyz" * 10))
    assert stream.read(3, 3) == b"xyz" and stream.identity.startswith("stream:")


def test_upload_auth_decoding(tmp_path: Path) -> None:
    """UPL-API-004: ExpireUTCTime wins; Expiration seconds otherwise; Region kept."""
    clock = ManualClock(start=100.0, wall_offset=1_000_000.0)
    auth = decode_upload_auth(
        b64_json(
            {
                "AccessKeyId": "STS.a",
                "AccessKeySecret": "very-secret",
                "SecurityToken": "token-value",
                "Expiration": "3000",
                "Region": "ap-southeast-1",
            }
        ),
        clock,
    )
    assert auth.region == "ap-southeast-1"
    assert auth.credentials.expires_at == pytest.approx(3100.0)
    assert "very-secret" not in repr(auth) and "token-value" not in repr(auth)
    with_utc = decode_upload_auth(
        b64_json(
            {
                "AccessKeyId": "a",
                "AccessKeySecret": "s",
                "SecurityToken": "t",
                "Expiration": "3000",
                "ExpireUTCTime": "1970-01-12T13:46:40Z",
            }
        ),
        clock,
    )
    assert with_utc.expires_wall == 1_000_000.0
    target = decode_upload_address(b64_json({"Endpoint": "e", "Bucket": "b", "FileName": "k"}))
    assert (target.endpoint, target.bucket, target.key) == ("e", "b", "k")


def test_crc_helpers_agree_with_a_whole_buffer_crc() -> None:
    """UPL-CLI-003: the object CRC combined from part CRCs equals the CRC of the whole."""
    data = bytes(range(256)) * 50
    assert crc64_of_parts(
        [(crc64(data[:1000]), 1000), (crc64(data[1000:]), len(data) - 1000)]
    ) == crc64(data)
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA
