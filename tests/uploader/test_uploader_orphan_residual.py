"""UPL-DUR-010: why an InitiateMultipartUpload cut off by a SIGKILL can leave one open upload.

The upload id exists only in the answer the killed process never read. The one request that
could find it again by key, ListMultipartUploads, is a bucket-level action, and the UploadAuth
VOD hands out names one object key (EMU-VOD-004; research: "An upload URL and an upload
credential can be used only for a single media file"). These tests pin that down against the
emulator, so the residual stays documented rather than worked around with rights the cloud
does not give.
"""

from __future__ import annotations

from typing import Any

import oss2
import pytest

from vodref.clock import SystemClock
from vodref.upload_auth import decode_upload_address, decode_upload_auth


def _bucket(emu: Any, vod_api: Any) -> tuple[Any, str]:
    grant = vod_api.create_upload_video(
        title="t", file_name="movie.mp4", file_size=300 * 1024, extra={}
    )
    credentials = decode_upload_auth(grant.upload_auth, SystemClock()).credentials
    target = decode_upload_address(grant.upload_address)
    auth = oss2.StsAuth(
        credentials.access_key_id, credentials.access_key_secret, credentials.security_token
    )
    return oss2.Bucket(auth, target.endpoint, target.bucket), target.key


def test_upload_auth_cannot_list_the_uploads_of_its_own_key(emu: Any, vod_api: Any) -> None:
    """UPL-DUR-010: an upload the killed process started is invisible to the next one: the
    UploadAuth may initiate and list *parts* of an upload it names, but ListMultipartUploads
    (even with prefix = its own key) is AccessDenied, as the cloud's per-object policy says."""
    bucket, key = _bucket(emu, vod_api)
    upload_id = bucket.init_multipart_upload(key).upload_id  # the answer the kill loses
    assert bucket.list_parts(key, upload_id).parts == []  # with the id: fine
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.list_multipart_uploads(prefix=key)
    assert [u["upload_id"] for u in emu.control.state()["oss"]["uploads"]] == [upload_id]


def test_root_credentials_could_list_it(emu: Any, vod_api: Any) -> None:
    """UPL-DUR-010: the listing itself works (the refusal is the policy's): the account
    owner, who holds bucket-level rights, sees the open upload by key and can abort it."""
    bucket, key = _bucket(emu, vod_api)
    upload_id = bucket.init_multipart_upload(key).upload_id
    root = oss2.Bucket(
        oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.url, bucket.bucket_name
    )
    listed = root.list_multipart_uploads(prefix=key).upload_list
    assert [(u.key, u.upload_id) for u in listed] == [(key, upload_id)]
    root.abort_multipart_upload(key, upload_id)
    assert emu.control.state()["oss"]["uploads"] == []
