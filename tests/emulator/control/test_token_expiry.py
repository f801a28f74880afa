"""Clock-driven token expiry: an UploadAuth dies when the emulator's clock says so.

Nothing sleeps: the clock is frozen, the TTL set to 2 s, and ``advance`` moves past it.
"""

from __future__ import annotations

import oss2
import pytest
import requests
from aliyunsdksts.request.v20150401 import AssumeRoleRequest
from support.control import VodApi

from emulator.pytest_plugin import EmulatorEndpoint

PART = b"v" * (100 * 1024)


def test_upload_auth_expires_on_advance_and_refresh_continues_the_same_upload(
    vod_emulator_each_mode: EmulatorEndpoint, vod_api: VodApi
) -> None:
    """EMU-CLK-001, EMU-CTL-004, EMU-CTL-005: a 2 s UploadAuth under a frozen clock
    works, fails with SecurityTokenExpired after advance(3), and RefreshUploadVideo's
    new credentials finish the same multipart upload (same upload id)."""
    control = vod_emulator_each_mode.control
    control.freeze()
    control.update_settings(upload_auth_ttl_seconds=2)
    target = vod_api.create_upload_video()
    [token] = [t for t in control.tokens() if t.is_for(target.access_key_id)]
    assert token.expires_at == pytest.approx(token.issued_at + 2)

    upload_id = target.bucket.init_multipart_upload(target.key).upload_id
    first = target.bucket.upload_part(target.key, upload_id, 1, PART)
    control.advance(3)
    with pytest.raises(oss2.exceptions.ServerError) as expired:
        target.bucket.upload_part(target.key, upload_id, 2, b"tail")
    assert (expired.value.status, expired.value.code) == (403, "SecurityTokenExpired")

    refreshed = vod_api.refresh_upload_video(target.video_id)
    assert refreshed.key == target.key
    assert refreshed.access_key_id != target.access_key_id
    second = refreshed.bucket.upload_part(target.key, upload_id, 2, b"tail")
    listed = refreshed.bucket.list_parts(target.key, upload_id).parts
    assert [p.part_number for p in listed] == [1, 2]
    refreshed.bucket.complete_multipart_upload(
        target.key,
        upload_id,
        [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)],
    )
    assert refreshed.bucket.get_object(target.key).read() == PART + b"tail"
    [video] = [v for v in control.state()["vod"]["videos"] if v["video_id"] == target.video_id]
    assert video["status"] in ("UploadSucc", "Normal")


def test_expire_and_revoke_one_token_now(
    vod_emulator_each_mode: EmulatorEndpoint, vod_api: VodApi
) -> None:
    """EMU-CTL-006: expire or revoke one credential; others keep working."""
    control = vod_emulator_each_mode.control
    doomed = vod_api.create_upload_video("a.mp4")
    revoked = vod_api.create_upload_video("b.mp4")
    healthy = vod_api.create_upload_video("c.mp4")

    info = control.expire_token(doomed.access_key_id)
    assert info.expired and not info.revoked
    info = control.revoke_token(revoked.access_key_id)
    assert info.expired and info.revoked
    for target in (doomed, revoked):
        with pytest.raises(oss2.exceptions.ServerError) as refused:
            target.bucket.put_object(target.key, b"x")
        assert refused.value.code in ("SecurityTokenExpired", "InvalidAccessKeyId")
    healthy.bucket.put_object(healthy.key, b"x")

    [listed] = [t for t in control.tokens() if t.is_for(healthy.access_key_id)]
    assert listed.expired is False
    assert listed.kind == "upload-auth"
    assert listed.scope["key"] == healthy.key


def test_sts_ttl_setting_applies_to_new_assume_role_credentials(
    vod_emulator_each_mode: EmulatorEndpoint, vod_api: VodApi
) -> None:
    """EMU-CTL-005: sts_default_ttl_seconds sets the lifetime of new STS credentials."""
    emu = vod_emulator_each_mode
    instant = emu.control.freeze().now
    emu.control.update_settings(sts_default_ttl_seconds=900)
    request = AssumeRoleRequest.AssumeRoleRequest()
    request.set_RoleArn("acs:ram::1234567890123456:role/vod-uploader")
    request.set_RoleSessionName("ttl-test")
    request.set_endpoint(emu.url)
    vod_api.client.do_action_with_exception(request)
    [token] = [t for t in emu.control.tokens() if t.kind == "sts"]
    assert (token.issued_at, token.expires_at) == (instant, instant + 900)


def test_tokens_are_shown_masked_and_named_by_token_id(
    vod_emulator_each_mode: EmulatorEndpoint, vod_api: VodApi
) -> None:
    """EMU-CTL-006 EMU-SEC-005 EMU-SEC-015: the listing shows an AccessKeyId as its first
    and last 4 characters and names the token by a token_id; the full id is accepted as
    input (expire by raw HTTP) and never echoed: not in the answer, a 404 or 405 message,
    the token list, the state dump or the request log."""
    emu = vod_emulator_each_mode
    control = emu.control
    target = vod_api.create_upload_video("masked.mp4")
    full = target.access_key_id
    [listed] = [t for t in control.tokens() if t.is_for(full)]
    assert listed.access_key_id == f"{full[:4]}***{full[-4:]}"
    assert listed.token_id.startswith("tok-") and full not in listed.token_id
    session = requests.Session()
    session.trust_env = False
    with session:
        answer = session.post(f"{emu.url}/_emulator/tokens/{full}/expire")
        assert answer.status_code == 200 and answer.json()["expired"] is True
        missing = session.post(f"{emu.url}/_emulator/tokens/{full}0/revoke")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NoSuchToken")
        wrong = session.get(f"{emu.url}/_emulator/tokens/{full}/expire")
        assert wrong.status_code == 405
        shown = [answer.text, missing.text, wrong.text]
        for path in ("/_emulator/tokens", "/_emulator/state", "/_emulator/requests"):
            shown.append(session.get(f"{emu.url}{path}").text)
    for text in shown:
        assert full not in text and full[4:-4] not in text
    revoked = control.revoke_token(listed)
    assert revoked.revoked and revoked.token_id == listed.token_id
    assert control.expire_token(full).token_id == listed.token_id  # sent as its token_id
