"""The VOD JS upload SDK's OSS traffic from a real browser: headless Chromium.

``tests/emulator/node`` runs ali-oss's browser build in Node under a *simulated* browser
(``tests/node/lib/browser-env.js``). This module runs it in Debian's Chromium, driven by
playwright-core (``tests/node/chromium.js``), from a page on another loopback origin
(``http://localhost:<page port>``) than the emulator's, so everything a browser enforces
is real: CORS preflights for the signed, non-simple requests (``Authorization``,
``x-oss-*``, ``x-oss-notification``), ``Access-Control-Allow-Origin`` on every answer
(errors included), reading ``ETag`` and the request id only when exposed, the Host and
Content-Length the browser sets itself, and part bodies that ali-oss slices from a
``File`` and sends as ``ArrayBuffer``-backed buffers.

The app side is Python (aliyunsdkcore calling CreateUploadVideo / RefreshUploadVideo at
the emulator); the page gets the base64 UploadAuth/UploadAddress as the SDK does and
runs ``multipartUpload`` (100 KiB parts, 5 in parallel, ``x-oss-notification``,
checkpoints from ``progress`` saved to localStorage). What it proves:

- a full upload completes and the object's bytes and CRC-64 are what the page generated
  (checked with oss2 and the root key);
- an upload cancelled after two parts resumes after a page reload from the checkpoint in
  localStorage, uploads only the missing parts, completes the same upload id, and leaves
  no multipart upload open;
- both UploadAddress forms work from a browser: the app calling VOD at ``localhost``
  (ali-oss addresses ``<bucket>.localhost:PORT``) and at ``127.0.0.1`` (the browser sends
  ``Host: 127.0.0.1:PORT`` and ``/<key>``; the emulator takes the bucket from the
  one-object UploadAuth);
- an expired UploadAuth surfaces in the page as ali-oss error code
  ``SecurityTokenExpired`` (what makes the SDK call onUploadTokenExpired), and the
  RefreshUploadVideo credential resumes the same upload id;
- a file under 100 KiB is one PutObject of the File;
- (regression) one video's UploadAuth used on another key is 403 ``AccessDenied`` from
  both endpoint forms (it was 400 ``InvalidBucketName`` from ``127.0.0.1``).

Runs in about 5 s with Chromium installed; without it, the fixture installs it through
``scripts/install-browser`` when root, skips when not, and fails when ``CI`` is set.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import oss2
import pytest
from support.browser import (
    BrowserEmulator,
    ChromiumSession,
    CreatedVideo,
    VodApp,
    WireRecord,
    xorshift_bytes,
)

pytestmark = [pytest.mark.node]

PART = 100 * 1024
SIZE = 6 * PART + 12_345  # 6 parts of 100 KiB and a remainder: 7 parts
PARTS = 7
HOSTS = pytest.mark.parametrize(
    "vod_host", ["localhost", "127.0.0.1"], ids=["app-uses-localhost", "app-uses-127.0.0.1"]
)
# What the SDK sends as x-oss-notification: base64 of the addFile paramData.
PARAM_DATA = {"Vod": {"Title": "browser upload", "UserData": {"MessageCallback": {}}}}
NOTIFICATION = base64.b64encode(json.dumps(PARAM_DATA).encode()).decode()


def _crc64(data: bytes) -> int:
    crc = oss2.utils.Crc64(0)
    crc.update(data)
    return int(crc.crc)


def _upload(
    chromium: ChromiumSession, video: CreatedVideo, seed: int, size: int = SIZE, **options: Any
) -> dict[str, Any]:
    answer = chromium.call(
        "upload",
        uploadAuth=video.upload_auth,
        uploadAddress=video.upload_address,
        seed=seed,
        size=size,
        fileName="movie.mp4",
        partSize=PART,
        parallel=5,
        notification=NOTIFICATION,
        **options,
    )
    result: dict[str, Any] = answer["result"]
    result["_console"] = answer["console"]
    result["_network"] = answer["network"]
    return result


def _object_requests(wire: list[WireRecord], key: str) -> list[WireRecord]:
    return [record for record in wire if record.path.endswith("/" + key)]


def _names(value: str | None) -> set[str]:
    return {name.strip().lower() for name in (value or "").split(",") if name.strip()}


def _assert_cors_wire(wire: list[WireRecord], origin: str, video: CreatedVideo, port: int) -> None:
    """What Chromium put on the wire: every signed request preceded by its preflight,
    both answered for the page's origin (EMU-OSS-032), and the Host the browser chose."""
    assert wire, "the browser sent nothing"
    address = video.address
    host = (
        f"{address['Bucket']}.localhost:{port}"
        if address["Endpoint"].startswith("http://localhost:")
        else f"127.0.0.1:{port}"
    )
    preflighted: set[tuple[str, str]] = set()
    for record in wire:
        assert record.host == host, record
        assert record.header("origin") == origin, record
        assert record.response_headers.get("access-control-allow-origin") == origin, record
        if record.method == "OPTIONS":
            assert record.status == 200, record
            requested = _names(record.header("access-control-request-headers"))
            allowed = _names(record.response_headers.get("access-control-allow-headers"))
            assert {"authorization", "x-oss-date", "x-oss-security-token"} <= requested, record
            assert requested <= allowed, record
            method = record.header("access-control-request-method") or ""
            assert method in record.response_headers["access-control-allow-methods"], record
            preflighted.add((method, record.query))
            continue
        # Signed with the UploadAuth's STS token, and only after its own preflight.
        assert record.header("x-oss-security-token"), record
        assert (record.method, record.query) in preflighted, record
        expose = record.response_headers.get("access-control-expose-headers", "").lower()
        for name in ("etag", "x-oss-request-id", "x-oss-hash-crc64ecma"):
            assert name in expose, record


def _assert_stored(
    emulator: BrowserEmulator, video: CreatedVideo, seed: int, size: int = SIZE
) -> None:
    """The object is the page's bytes (oss2 checks the CRC on the way, too)."""
    expected = xorshift_bytes(seed, size)
    address = video.address
    bucket = emulator.root_bucket(address["Bucket"])
    head = bucket.head_object(address["FileName"])
    assert head.content_length == size
    assert head.server_crc == _crc64(expected)
    assert bucket.get_object(address["FileName"]).read() == expected
    assert emulator.open_uploads(address["FileName"]) == []


@HOSTS
def test_multipart_upload_from_chromium_completes(
    chromium: ChromiumSession, browser_emulator: BrowserEmulator, vod: VodApp, vod_host: str
) -> None:
    """EMU-VOD-001, EMU-VOD-003, EMU-VOD-004, EMU-VOD-008, EMU-OSS-024, EMU-OSS-032."""
    video = vod.create(vod_host, "full upload", "movie.mp4")
    assert video.address["Endpoint"] == f"http://{vod_host}:{browser_emulator.port}"
    key = video.address["FileName"]
    mark = browser_emulator.app.mark()

    result = _upload(chromium, video, seed=11)

    assert result["ok"] is True, result
    assert result["complete"]["status"] == 200, result
    expected = xorshift_bytes(11, SIZE)
    # The browser could read the CRC header of the Complete answer: it is exposed.
    assert result["complete"]["crc64"] == str(_crc64(expected))
    events = result["events"]
    assert events[0]["p"] == 0 and events[0]["doneParts"] == []
    assert events[-1]["p"] == 1
    checkpoints = [event for event in events if "doneParts" in event]
    assert sorted(checkpoints[-1]["doneParts"]) == list(range(1, PARTS + 1))
    assert all(event["etagsReadable"] for event in checkpoints)
    assert len({event["uploadId"] for event in checkpoints}) == 1
    assert result["storedAfter"] is None  # the SDK drops its checkpoint when done
    _assert_stored(browser_emulator, video, seed=11)
    assert vod.status(video.video_id, vod_host) in ("UploadSucc", "Normal")

    # Chromium caches preflights per URL, so the CORS check reads the key's whole history.
    _assert_cors_wire(
        _object_requests(browser_emulator.app.wire(), key),
        chromium.ready["origin"],
        video,
        browser_emulator.port,
    )
    wire = _object_requests(browser_emulator.app.wire(mark), key)
    initiate = [r for r in wire if r.method == "POST" and "uploads" in r.params]
    complete = [r for r in wire if r.method == "POST" and "uploadId" in r.params]
    parts = [r for r in wire if r.method == "PUT" and "partNumber" in r.params]
    assert len(initiate) == 1 and len(complete) == 1
    # The SDK's x-oss-notification reaches Initiate and Complete (ali-oss copies it onto
    # every part as well).
    for record in [*initiate, *complete, *parts]:
        assert record.header("x-oss-notification") == NOTIFICATION, record
    sizes = {int(r.params_dict["partNumber"]): int(r.header("content-length") or -1) for r in parts}
    assert sizes == {**dict.fromkeys(range(1, PARTS), PART), PARTS: SIZE - 6 * PART}
    assert {r.header("content-type") for r in parts} == {"video/mp4"}


def _part_numbers(wire: list[WireRecord]) -> list[int]:
    return sorted(
        int(r.params_dict["partNumber"])
        for r in wire
        if r.method == "PUT" and "partNumber" in r.params
    )


@HOSTS
def test_cancelled_upload_resumes_after_page_reload(
    chromium: ChromiumSession, browser_emulator: BrowserEmulator, vod: VodApp, vod_host: str
) -> None:
    """The SDK's resume across a reload: ``client.cancel()`` after two parts, the
    checkpoint survives in localStorage only, the reloaded page resumes it with the same
    File, uploads only the parts the checkpoint lacks, completes the same upload id, and
    no multipart upload stays open.

    EMU-VOD-003, EMU-VOD-004, EMU-OSS-024, EMU-OSS-032, EMU-CTL-003."""
    video = vod.create(vod_host, "resumed after reload", "movie.mp4")
    key = video.address["FileName"]
    first = _upload(chromium, video, seed=22, cancelAfter=2)
    assert first["ok"] is False and first["cancelled"] is True, first
    saved = first["storedAfter"]
    assert saved is not None and len(saved["doneParts"]) == 2, first
    upload_id = saved["uploadId"]
    done = sorted(part["number"] for part in saved["doneParts"])
    open_uploads = browser_emulator.open_uploads(key)
    assert [upload["upload_id"] for upload in open_uploads] == [upload_id]
    # Parts in flight at the cancel may have landed too; the checkpoint's are there.
    assert set(done) <= {part["part_number"] for part in open_uploads[0]["parts"]}

    chromium.reload()  # a new JS context: only localStorage remembers the upload
    about = chromium.call("about")["result"]
    assert about["storedKeys"] == [f"vodref-checkpoint:{key}"], about

    mark = browser_emulator.app.mark()
    second = _upload(chromium, video, seed=22, resume="stored")
    assert second["ok"] is True, second
    # ali-oss records parts in the order they finished, which parallel parts do not fix.
    resumed = second["resumedFrom"]
    assert resumed["uploadId"] == upload_id
    assert sorted(resumed["doneParts"]) == done
    assert {e["uploadId"] for e in second["events"] if "uploadId" in e} == {upload_id}
    wire = _object_requests(browser_emulator.app.wire(mark), key)
    assert not [r for r in wire if "uploads" in r.params], "a resume must not initiate"
    assert _part_numbers(wire) == sorted(set(range(1, PARTS + 1)) - set(done))
    completes = [r for r in wire if r.method == "POST" and "uploadId" in r.params]
    assert [r.params_dict["uploadId"] for r in completes] == [upload_id]
    assert second["storedAfter"] is None
    _assert_stored(browser_emulator, video, seed=22)
    bucket = browser_emulator.root_bucket(video.address["Bucket"])
    assert bucket.list_multipart_uploads(prefix=key).upload_list == []
    _assert_cors_wire(
        _object_requests(browser_emulator.app.wire(), key),
        chromium.ready["origin"],
        video,
        browser_emulator.port,
    )


@HOSTS
def test_expired_upload_auth_fails_in_page_then_refresh_resumes_same_upload(
    chromium: ChromiumSession, browser_emulator: BrowserEmulator, vod: VodApp, vod_host: str
) -> None:
    """The token-expiry path of the SDK (onUploadTokenExpired, resumeUploadWithAuth) in a
    real browser: once the UploadAuth has expired (control plane ``expire_token``), the
    parts fail with 403 and the page reads the error document (it carries CORS headers),
    so ali-oss reports code ``SecurityTokenExpired``; the RefreshUploadVideo credential
    then finishes the same upload id from the same checkpoint.

    EMU-VOD-005, EMU-VOD-006, EMU-OSS-024, EMU-OSS-030, EMU-OSS-032, EMU-CTL-006."""
    video = vod.create(vod_host, "expiring upload auth", "movie.mp4")
    key = video.address["FileName"]
    first = _upload(chromium, video, seed=33, cancelAfter=2)
    assert first["cancelled"] is True, first
    upload_id = first["storedAfter"]["uploadId"]

    token = browser_emulator.control.expire_token(video.auth["AccessKeyId"])
    assert token.expired is True

    mark = browser_emulator.app.mark()
    expired = _upload(chromium, video, seed=33, resume="stored")
    assert expired["ok"] is False and expired["cancelled"] is False, expired
    error = expired["error"]
    assert error["name"] == "SecurityTokenExpiredError", expired
    assert error["code"] == "SecurityTokenExpired"
    assert error["status"] == 403
    assert len(error["requestId"]) == 24  # read from the exposed x-oss-request-id
    assert error["message"].startswith(
        "Failed to upload some parts with error: SecurityTokenExpiredError"
    )
    wire = _object_requests(browser_emulator.app.wire(mark), key)
    rejected = [r for r in wire if r.method == "PUT"]
    assert rejected and {r.status for r in rejected} == {403}
    # The checkpoint is as it was: nothing was done with the expired credential.
    assert expired["storedAfter"] == first["storedAfter"]

    refreshed = vod.refresh(video.video_id, vod_host)
    assert refreshed.auth["AccessKeyId"] != video.auth["AccessKeyId"]
    assert refreshed.address == video.address
    resumed = _upload(chromium, refreshed, seed=33, resume="stored")
    assert resumed["ok"] is True, resumed
    assert resumed["resumedFrom"]["uploadId"] == upload_id
    wire = _object_requests(browser_emulator.app.wire(mark), key)
    completes = [r for r in wire if r.method == "POST" and r.status == 200]
    assert [r.params_dict["uploadId"] for r in completes] == [upload_id]
    _assert_stored(browser_emulator, video, seed=33)
    _assert_cors_wire(
        _object_requests(browser_emulator.app.wire(), key),
        chromium.ready["origin"],
        video,
        browser_emulator.port,
    )


@HOSTS
def test_small_file_is_one_put_of_the_file(
    chromium: ChromiumSession, browser_emulator: BrowserEmulator, vod: VodApp, vod_host: str
) -> None:
    """Below 100 KiB ali-oss's multipartUpload is a single PutObject whose body is the
    File itself (no part slicing), with the SDK's x-oss-notification.

    EMU-VOD-004, EMU-OSS-024, EMU-OSS-032."""
    size = 50 * 1024 + 7
    video = vod.create(vod_host, "small file", "movie.mp4")
    key = video.address["FileName"]
    mark = browser_emulator.app.mark()
    result = _upload(chromium, video, seed=44, size=size)
    assert result["ok"] is True, result
    assert result["complete"]["status"] == 200
    assert result["complete"]["crc64"] == str(_crc64(xorshift_bytes(44, size)))
    assert [event["p"] for event in result["events"]] == [1]
    wire = _object_requests(browser_emulator.app.wire(mark), key)
    wire = [r for r in wire if r.method != "OPTIONS"]
    assert [(r.method, r.query) for r in wire] == [("PUT", "")]
    assert wire[0].header("content-length") == str(size)
    assert wire[0].header("content-type") == "video/mp4"
    assert wire[0].header("x-oss-notification") == NOTIFICATION
    _assert_stored(browser_emulator, video, seed=44, size=size)
    _assert_cors_wire(
        _object_requests(browser_emulator.app.wire(), key),
        chromium.ready["origin"],
        video,
        browser_emulator.port,
    )


@HOSTS
def test_upload_auth_for_another_key_is_access_denied_from_either_endpoint(
    chromium: ChromiumSession, browser_emulator: BrowserEmulator, vod: VodApp, vod_host: str
) -> None:
    """Regression: one video's UploadAuth used on another key (the app mixing up two
    videos' UploadAuth and UploadAddress) is 403 ``AccessDenied`` in the page, as at OSS
    and as with the ``localhost`` endpoint. From ``127.0.0.1`` the browser's request is
    bucket-less (``PUT /sv/<token>/...``); the emulator used to recover the bucket only
    for the credential's own key and otherwise read ``sv`` as the bucket, answering 400
    ``InvalidBucketName``.

    EMU-VOD-004, EMU-OSS-025, EMU-OSS-032."""
    mine = vod.create(vod_host, "mine", "movie.mp4")
    other = vod.create(vod_host, "other", "movie.mp4")
    auth, address = mine.auth, other.address
    assert address["Bucket"] == mine.address["Bucket"]
    options = {
        "accessKeyId": auth["AccessKeyId"],
        "accessKeySecret": auth["AccessKeySecret"],
        "stsToken": auth["SecurityToken"],
        "endpoint": address["Endpoint"],
        "bucket": address["Bucket"],
    }
    answer = chromium.call("probe", options=options, key=address["FileName"], ops=["put"])
    error = answer["result"]["put"].get("error")
    assert error is not None, answer["result"]
    assert (error["status"], error["code"]) == (403, "AccessDenied"), error
    bucket = browser_emulator.root_bucket(address["Bucket"])
    assert not bucket.object_exists(address["FileName"])
