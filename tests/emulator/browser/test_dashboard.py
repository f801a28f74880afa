"""The dashboard at /_emulator/ in a real headless Chromium, during an upload.

The page is the emulator's own (same origin as its state), refreshed by its own timer; the
assertions read the DOM, and a screenshot is written. Secrets never reach the DOM.
Requirements: specs/emulator-control.md (EMU-CTL-011).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.browser import BrowserEmulator, ChromiumSession

from emulator.faults import Effect, Match

PART = 100 * 1024
KEY = "big/movie.mp4"


@pytest.fixture(scope="module")
def dashboard(
    chromium_executable: str,
    browser_node_modules: Any,
    browser_emulator: BrowserEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChromiumSession]:
    session = ChromiumSession(
        node=browser_node_modules.node,
        modules=browser_node_modules.modules,
        page_url=f"{browser_emulator.url}/_emulator/",
        chromium=chromium_executable,
        stderr_path=tmp_path_factory.mktemp("dashboard") / "stderr.txt",
    )
    try:
        yield session
    finally:
        session.close()


def _create_video(emu: BrowserEmulator, title: str) -> None:
    client = AcsClient(emu.access_key_id, emu.access_key_secret, "cn-shanghai", auto_retry=False)
    client.add_endpoint("cn-shanghai", "vod", emu.url.removeprefix("http://"))
    request = CreateUploadVideoRequest()
    request.set_Title(title)
    request.set_FileName("d.mp4")
    client.do_action_with_exception(request)
    client.session.close()


def test_dashboard_shows_an_upload_in_progress(
    dashboard: ChromiumSession, browser_emulator: BrowserEmulator, tmp_path: Path
) -> None:
    """EMU-CTL-011: buckets and objects, the open upload with its parts, videos with their
    status, redacted tokens, faults and hits, and the request log; live refresh; no secret
    in the DOM; object keys are text, never markup."""
    emu = browser_emulator
    bucket = emu.root_bucket("dash-bucket")
    bucket.create_bucket()
    bucket.put_object("done/<b>not markup</b>.txt", b"finished")
    upload_id = bucket.init_multipart_upload(KEY).upload_id
    for number in (1, 2):
        bucket.upload_part(KEY, upload_id, number, bytes([number]) * PART)
    fault_id = emu.control.add_fault(
        effect=Effect.error(503, "ServiceUnavailable"), match=Match(operation="UploadPart"), times=1
    )
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.upload_part(KEY, upload_id, 3, b"3" * PART)
    _create_video(emu, "dashboard video")

    shown = dashboard.call("nextRefresh")["result"]  # the page's own timer, not a reload
    sections = shown["sections"]
    first = sections["objects"][0]
    assert first[:4] == ["dash-bucket", "done/<b>not markup</b>.txt", "8", "Normal"]
    [upload] = sections["uploads"]
    assert (upload[0], upload[1], upload[3]) == ("dash-bucket", KEY, "1, 2")
    assert upload[4] == str(2 * PART)
    assert [(v[1], v[2]) for v in sections["videos"]] == [("dashboard video", "Uploading")]
    assert sections["tokens"] and all(row[0].endswith("\u2026") for row in sections["tokens"])
    assert [row[0] for row in sections["faults"]] == [fault_id]
    assert sections["hits"][0][:3] == [fault_id, "error", "UploadPart"]
    operations = [row[3] for row in sections["requests"]]
    assert "UploadPart" in operations and "CreateUploadVideo" in operations
    assert "503" in [row[4] for row in sections["requests"]]

    text = shown["text"]
    for token in emu.state.credentials.all():
        assert token.access_key_id not in text
        assert token.access_key_secret not in text
        assert (token.security_token or "-") not in text
    assert emu.access_key_secret not in text and emu.access_key_id not in text
    assert upload_id not in text

    picture = tmp_path / "dashboard.png"
    dashboard.screenshot(picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    bucket.upload_part(KEY, upload_id, 3, b"3" * 10)
    listed = bucket.list_parts(KEY, upload_id).parts
    bucket.complete_multipart_upload(
        KEY, upload_id, [oss2.models.PartInfo(p.part_number, p.etag) for p in listed]
    )
    later = dashboard.call("nextRefresh")["result"]
    assert later["refreshes"] > shown["refreshes"]
    assert later["sections"]["uploads"] == []
    assert ["dash-bucket", KEY] in [row[:2] for row in later["sections"]["objects"]]
