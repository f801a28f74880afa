"""AppendObject, CopyObject, UploadPartCopy and the object ACL through oss2 and
alibabacloud-oss-v2, over a socket and in-process (``oss_emulator`` runs both).
Requirements: specs/emulator-oss.md §2 (EMU-OSS-050..EMU-OSS-053)."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from support.checksums import crc64

from emulator.credentials import CredentialKind, Scope
from emulator.oss.checksums import crc64 as emulator_crc64

PART = 100 * 1024


def _v2(oss_emulator, **extra) -> oss.Client:  # type: ignore[no-untyped-def]
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        oss_emulator.access_key_id, oss_emulator.access_key_secret
    )
    cfg.region = oss_emulator.region
    cfg.endpoint = oss_emulator.url
    for name, value in extra.items():
        setattr(cfg, name, value)
    return oss.Client(cfg)


def test_append_object_with_crc_chaining_oss2(bucket: oss2.Bucket) -> None:
    """EMU-OSS-050: oss2 append_object with init_crc checks the chained CRC-64 itself."""
    first = bucket.append_object("log.txt", 0, b"hello ", init_crc=0)
    assert first.next_position == 6 and first.crc == crc64(b"hello ")
    second = bucket.append_object("log.txt", first.next_position, b"world", init_crc=first.crc)
    assert second.next_position == 11 and second.crc == crc64(b"hello world")
    assert emulator_crc64(b"hello world") == second.crc
    got = bucket.get_object("log.txt")
    assert got.read() == b"hello world"
    assert got.headers["x-oss-object-type"] == "Appendable"
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as raised:
        bucket.append_object("log.txt", 3, b"!")
    assert raised.value.next_position == 11
    bucket.put_object("plain.txt", b"p")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("plain.txt", 1, b"x")
    assert bucket.get_object("log.txt").read() == b"hello world"  # unchanged by errors


def test_append_object_v2(oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-050: alibabacloud-oss-v2's append, which checks the CRC by default."""
    oss_emulator.state.oss.ensure_bucket("v2-append")
    client = _v2(oss_emulator)
    first = client.append_object(
        oss.AppendObjectRequest(bucket="v2-append", key="a.log", position=0, body=b"abc")
    )
    assert first.next_position == 3
    second = client.append_object(
        oss.AppendObjectRequest(
            bucket="v2-append",
            key="a.log",
            position=3,
            body=b"def",
            init_hash_crc64=first.hash_crc64,
        )
    )
    assert second.next_position == 6 and int(second.hash_crc64) == crc64(b"abcdef")
    with pytest.raises(oss.exceptions.OperationError) as raised:
        client.append_object(
            oss.AppendObjectRequest(bucket="v2-append", key="a.log", position=1, body=b"x")
        )
    assert "PositionNotEqualToLength" in str(raised.value)


def test_copy_object_oss2(bucket: oss2.Bucket) -> None:
    """EMU-OSS-051: copy keeps or replaces metadata; the copy owns its bytes."""
    bucket.put_object("src.txt", b"source", headers={"x-oss-meta-who": "alice"})
    result = bucket.copy_object("test-bucket", "src.txt", "kept.txt")
    assert result.status == 200
    assert bucket.head_object("kept.txt").headers["x-oss-meta-who"] == "alice"
    bucket.copy_object(
        "test-bucket",
        "src.txt",
        "replaced.txt",
        headers={"x-oss-metadata-directive": "REPLACE", "x-oss-meta-who": "bob"},
    )
    assert bucket.head_object("replaced.txt").headers["x-oss-meta-who"] == "bob"
    bucket.delete_object("src.txt")
    assert bucket.get_object("kept.txt").read() == b"source"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object("test-bucket", "src.txt", "again.txt")


def test_upload_part_copy_and_multipart_oss2(bucket: oss2.Bucket) -> None:
    """EMU-OSS-052: parts copied from ranges of an object complete into the same bytes."""
    data = bytes(range(256)) * (2 * PART // 256)
    bucket.put_object("big.bin", data)
    upload_id = bucket.init_multipart_upload("copy.bin").upload_id
    first = bucket.upload_part_copy(
        "test-bucket", "big.bin", (0, PART - 1), "copy.bin", upload_id, 1
    )
    second = bucket.upload_part_copy(
        "test-bucket", "big.bin", (PART, 2 * PART - 1), "copy.bin", upload_id, 2
    )
    bucket.complete_multipart_upload(
        "copy.bin",
        upload_id,
        [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)],
    )
    assert bucket.get_object("copy.bin").read() == data
    upload_id = bucket.init_multipart_upload("bad.bin").upload_id
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.upload_part_copy("test-bucket", "big.bin", (0, 10 * PART), "bad.bin", upload_id, 1)


def test_copy_and_part_copy_v2(oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-051, EMU-OSS-052 through alibabacloud-oss-v2."""
    oss_emulator.state.oss.ensure_bucket("v2-copy")
    client = _v2(oss_emulator)
    client.put_object(oss.PutObjectRequest(bucket="v2-copy", key="s", body=b"x" * PART))
    copied = client.copy_object(
        oss.CopyObjectRequest(bucket="v2-copy", key="d", source_bucket="v2-copy", source_key="s")
    )
    assert copied.etag.strip('"') == oss_emulator.state.oss.head_object("v2-copy", "s").etag
    upload = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket="v2-copy", key="m")
    )
    part = client.upload_part_copy(
        oss.UploadPartCopyRequest(
            bucket="v2-copy", key="m", upload_id=upload.upload_id, part_number=1,
            source_bucket="v2-copy", source_key="s", source_range="bytes=0-9",
        )
    )  # fmt: skip
    client.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket="v2-copy", key="m", upload_id=upload.upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=1, etag=part.etag)]
            ),
        )
    )  # fmt: skip
    got = client.get_object(oss.GetObjectRequest(bucket="v2-copy", key="m"))
    assert got.body.read() == b"x" * 10


def test_object_acl_oss2_and_v2(bucket: oss2.Bucket, oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-053: get/put the object ACL with both SDKs; bad values are refused."""
    bucket.put_object("acl.txt", b"a")
    assert bucket.get_object_acl("acl.txt").acl == "default"
    bucket.put_object_acl("acl.txt", oss2.OBJECT_ACL_PUBLIC_READ)
    assert bucket.get_object_acl("acl.txt").acl == "public-read"
    bucket.put_object("born-private.txt", b"b", headers={"x-oss-object-acl": "private"})
    assert bucket.get_object_acl("born-private.txt").acl == "private"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object_acl("acl.txt", "everyone")
    client = _v2(oss_emulator)
    client.put_object_acl(
        oss.PutObjectAclRequest(bucket="test-bucket", key="acl.txt", acl="private")
    )
    answer = client.get_object_acl(oss.GetObjectAclRequest(bucket="test-bucket", key="acl.txt"))
    assert answer.acl == "private"


def test_a_scoped_credential_cannot_copy_another_object_in(make_bucket, oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-051: the copy source is authorized too: a credential limited to one key
    (a VOD UploadAuth) cannot copy another object into it, nor part-copy it."""
    root = make_bucket("scoped")
    root.put_object("secret.txt", b"not yours")
    credential = oss_emulator.state.credentials.issue(
        now=oss_emulator.state.clock.now(),
        ttl_seconds=600,
        kind=CredentialKind.UPLOAD_AUTH,
        scope=Scope(bucket="scoped", key="mine.txt"),
    )
    auth = oss2.StsAuth(
        credential.access_key_id, credential.access_key_secret, credential.security_token
    )
    scoped = make_bucket("scoped", auth=auth, create=False)
    scoped.put_object("mine.txt", b"allowed")
    with pytest.raises(oss2.exceptions.AccessDenied):
        scoped.copy_object("scoped", "secret.txt", "mine.txt")
    upload_id = scoped.init_multipart_upload("mine.txt").upload_id
    with pytest.raises(oss2.exceptions.AccessDenied):
        scoped.upload_part_copy("scoped", "secret.txt", (0, 3), "mine.txt", upload_id, 1)
    assert root.get_object("mine.txt").read() == b"allowed"
