"""The transport reuses its pooled connection from one small file to the next."""

from __future__ import annotations

from typing import Any

import oss2

from vodref.core import Credentials, ObjectTarget
from vodref.transport import OssHttpTransport


def _connections_opened(transport: OssHttpTransport, url: str) -> int:
    """TCP connections the transport's pools have opened (urllib3 counts them)."""
    manager = transport._session.session.get_adapter(url).poolmanager
    # urllib3's RecentlyUsedContainer refuses iteration; keys() is its way.
    pools = manager.pools
    return sum(int(pools[key].num_connections) for key in pools.keys())  # noqa: SIM118


def test_small_files_share_one_connection(vod_emulator: Any) -> None:
    """UPL-TRN-009: PutObject and CompleteMultipartUpload replies are read to their end, so
    one file after another goes over the same pooled connection (before: oss2's results read
    only the headers and every file opened a new TCP connection)."""
    emu = vod_emulator
    root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    oss2.Bucket(
        oss2.Auth(root.access_key_id, root.access_key_secret), emu.url, "conn"
    ).create_bucket()
    transport = OssHttpTransport(timeout=10.0)
    try:
        for number in range(4):
            target = ObjectTarget(endpoint=emu.url, bucket="conn", key=f"clip-{number}.mp4")
            stored = transport.put_object(target, root, data=b"x" * 1000, headers={})
            assert stored.etag
            upload_id = transport.initiate_multipart(target, root, headers={})
            part = transport.upload_part(
                target, root, upload_id=upload_id, number=1, data=b"y" * 1000
            )
            done = transport.complete_multipart(
                target, root, upload_id=upload_id, parts=[(1, part.etag)], headers={}
            )
            assert done.etag
        assert _connections_opened(transport, emu.url) == 1
    finally:
        transport.close()
