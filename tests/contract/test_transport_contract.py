"""One contract, every transport (STYLE 17): the in-memory one, oss2 over a real socket to
the emulator, and oss2 into the emulator app in-process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import oss2
import pytest
from support.uploader import MIN_PART

from emulator import mock_vod
from emulator.inprocess_transport import in_process_transport
from vodref.checksums import crc64
from vodref.core import Credentials, ObjectTarget
from vodref.errors import TransportError
from vodref.testing import MemoryTransport
from vodref.transport import OssHttpTransport


@pytest.fixture(params=["memory", "socket", "socket-v4", "inprocess"])
def transport_case(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Any, ObjectTarget, Credentials]]:
    if request.param == "memory":
        target = ObjectTarget(endpoint="http://memory", bucket="b", key="dir/object.mp4")
        yield MemoryTransport(), target, Credentials(access_key_id="a", access_key_secret="s")
        return
    if request.param.startswith("socket"):
        emu = request.getfixturevalue("vod_emulator")
        root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
        oss2.Bucket(
            oss2.Auth(root.access_key_id, root.access_key_secret), emu.url, "contract"
        ).create_bucket()
        # socket-v4: every request signed with Signature V4 (UPL-TRN-007), verified by the
        # emulator with its region (EMU-SEC-012).
        region = emu.region if request.param == "socket-v4" else None
        transport = OssHttpTransport(timeout=10.0, region=region)
        yield (
            transport,
            ObjectTarget(endpoint=emu.url, bucket="contract", key="dir/object.mp4"),
            root,
        )
        transport.close()
        return
    with mock_vod() as vod:
        root = Credentials(access_key_id=vod.access_key_id, access_key_secret=vod.access_key_secret)
        transport = in_process_transport(vod.app, timeout=10.0)
        oss2.Bucket(
            oss2.Auth(root.access_key_id, root.access_key_secret), vod.url, "contract"
        ).create_bucket()
        yield (
            transport,
            ObjectTarget(endpoint=vod.url, bucket="contract", key="dir/object.mp4"),
            root,
        )
        transport.close()


def test_transport_contract(transport_case: tuple[Any, ObjectTarget, Credentials]) -> None:
    """UPL-TRN-001 UPL-TRN-002 UPL-TRN-003 UPL-TRN-007: the same operations answer the same
    way on every transport (V1 and V4 signed over the socket):
    CRC-64 of parts and objects, ListParts with CRCs, NoSuchUpload as a typed error, HEAD of
    a missing object is None."""
    transport, target, credentials = transport_case
    small = b"small object"
    stored = transport.put_object(target, credentials, data=small, headers={})
    assert stored.crc64 == crc64(small)
    parts = [bytes([n]) * MIN_PART for n in (1, 2)] + [b"tail"]
    upload_id = transport.initiate_multipart(target, credentials, headers={})
    etags = []
    for number, data in enumerate(parts, 1):
        uploaded = transport.upload_part(
            target, credentials, upload_id=upload_id, number=number, data=data
        )
        assert uploaded.crc64 == crc64(data)
        etags.append((number, uploaded.etag))
    listed = transport.list_parts(target, credentials, upload_id)
    assert [(p.number, p.size, p.crc64) for p in listed] == [
        (n, len(d), crc64(d)) for n, d in enumerate(parts, 1)
    ]
    done = transport.complete_multipart(
        target, credentials, upload_id=upload_id, parts=etags, headers={}
    )
    whole = b"".join(parts)
    assert done.crc64 == crc64(whole)
    info = transport.head_object(target, credentials)
    assert info is not None and (info.size, info.crc64) == (len(whole), crc64(whole))
    with pytest.raises(TransportError) as lost:
        transport.list_parts(target, credentials, upload_id)
    assert lost.value.error.code == "NoSuchUpload"
    second = transport.initiate_multipart(target, credentials, headers={})
    transport.abort_multipart(target, credentials, second)
    missing = ObjectTarget(endpoint=target.endpoint, bucket=target.bucket, key="nothing-here")
    assert transport.head_object(missing, credentials) is None
