"""ali-oss 6.x (the npm package the VOD JS upload SDK runs on) against the emulator, in Node.

Each test runs one script of ``tests/node`` with the real ali-oss (installed by ``npm ci``
from the committed lockfile, see conftest.py) and asserts on its JSON result line and on
the emulator's state as oss2 sees it over the wire.

How ali-oss reaches the emulator (ali-oss 6.23 ``createRequest``/``getReqUrl``):

- ``ip``: ``endpoint=http://127.0.0.1:PORT``. ali-oss connects to the IP but sends
  ``Host: <bucket>.oss-<region>.aliyuncs.com`` and the path ``/<key>``: virtual-hosted
  style as far as the server can tell. This is what a Node user pointing ali-oss at an IP
  gets, with no extra option.
- ``path``: ``endpoint=http://localhost:PORT`` plus ``sldEnable: true``: ``/<bucket>/<key>``.
- ``vhost``: ``endpoint=http://localhost:PORT``: ``Host: <bucket>.localhost:PORT``, which
  browsers resolve to loopback (the JS SDK's case); the scripts' agent does the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastcrc
import oss2
import pytest
from node_support import Credentials, NodeEmulator, NodeRunner

from emulator.credentials import CredentialKind, Scope
from emulator.faults import Effect, Fault, Match

pytestmark = [pytest.mark.node]

PART_SIZE = 100 * 1024
# 10 full parts and a short last one.
MULTIPART_SIZE = 10 * PART_SIZE + 12_345
ADDRESSING = ["ip", "path", "vhost"]


def crc64(data: bytes) -> int:
    """CRC-64/XZ, OSS's ``x-oss-hash-crc64ecma``."""
    return int(fastcrc.crc64.xz(data))


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def multipart_etag(data: bytes, part_size: int) -> str:
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest.upper()}-{len(parts)}"'


def pseudo_random(size: int, seed: str) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def ok(result: dict[str, Any]) -> dict[str, Any]:
    """The result of a script that must have succeeded (with its stderr on failure)."""
    assert result.get("ok") is True, json.dumps(result, indent=2)
    return result


@pytest.fixture
def upload_file(tmp_path: Path) -> Callable[[str, int], tuple[Path, bytes]]:
    def make(name: str, size: int = MULTIPART_SIZE) -> tuple[Path, bytes]:
        data = pseudo_random(size, name)
        path = tmp_path / name
        path.write_bytes(data)
        return path, data

    return make


def open_uploads(oss2_bucket: Any, key: str) -> list[str]:
    return [u.upload_id for u in oss2.MultipartUploadIterator(oss2_bucket) if u.key == key]


def temporary_credentials(emulator: NodeEmulator, scope: Scope, ttl: float = 900.0) -> Credentials:
    state = emulator.state
    cred = state.credentials.issue(
        now=state.clock.now(), ttl_seconds=ttl, kind=CredentialKind.STS, scope=scope
    )
    return Credentials(cred.access_key_id, cred.access_key_secret, cred.security_token)


# --------------------------------------------------------------------------------------
# Small objects


@pytest.mark.parametrize("addressing", ADDRESSING)
def test_put_get_head_delete_round_trip(
    run_node: NodeRunner, bucket_name: str, oss2_root: Callable[[str], Any], addressing: str
) -> None:
    """PutObject/GetObject/HeadObject/GetObjectMeta/DeleteObject through ali-oss, V1 signed
    (``x-oss-date`` in the Date slot), in all three addressing styles; chunked PutObject.

    EMU-OSS-001, EMU-OSS-003, EMU-OSS-004, EMU-OSS-006, EMU-OSS-010, EMU-OSS-017,
    EMU-OSS-020, EMU-OSS-031."""
    key = f"node/basic/{addressing}/hello world+1.txt"
    stream_key = f"node/basic/{addressing}/streamed.bin"
    result = ok(
        run_node(
            "basic.js", "--key", key, "--stream-key", stream_key,
            bucket=bucket_name, addressing=addressing,
        )
    )  # fmt: skip
    body = b"hello from ali-oss in node\n" * 37

    assert result["size"] == len(body)
    assert result["put"]["status"] == 200
    assert result["put"]["etag"] == md5_etag(body)
    assert result["put"]["crc64"] == str(crc64(body))
    assert result["put"]["requestId"]

    head = result["head"]
    assert head["status"] == 200
    assert head["etag"] == md5_etag(body)
    assert head["contentLength"] == str(len(body))
    assert head["crc64"] == str(crc64(body))
    assert head["meta"] == {"origin": "node"}
    assert head["contentType"] == "text/plain"
    assert result["objectMeta"]["contentLength"] == str(len(body))

    get = result["get"]
    assert get["status"] == 200
    assert get["matches"] is True
    assert get["crc64"] == str(crc64(body))

    streamed = result["streamed"]
    expected = b"\x01" * 70000 + b"\x02" * 50001 + b"tail"
    assert streamed["status"] == 200
    assert streamed["matches"] is True
    assert streamed["size"] == len(expected)
    assert streamed["etag"] == md5_etag(expected)
    assert streamed["crc64"] == str(crc64(expected))
    assert oss2_root(bucket_name).get_object(stream_key).read() == expected

    # The HEAD of a deleted key: no body, so ali-oss maps the bare 404 itself.
    assert result["headAfterDelete"]["name"] == "NoSuchKeyError"
    assert result["headAfterDelete"]["status"] == 404
    # The GET carries the OSS error XML, which ali-oss names Code + "Error".
    assert result["getAfterDelete"]["name"] == "NoSuchKeyError"
    assert result["getAfterDelete"]["code"] == "NoSuchKey"
    assert result["getAfterDelete"]["status"] == 404
    assert result["getAfterDelete"]["requestId"]
    assert not oss2_root(bucket_name).object_exists(key)


@pytest.mark.parametrize("addressing", ["path", "vhost"])
def test_listing_low_level_multipart_and_presigned_url(
    run_node: NodeRunner, bucket_name: str, oss2_root: Callable[[str], Any], addressing: str
) -> None:
    """The XML answers ali-oss parses with xml2js (ListObjects with a delimiter,
    ListObjectsV2 paging, ListParts, ListMultipartUploads, DeleteMultipleObjects), abort
    twice, a ranged GET and a V1 presigned URL from ``signatureUrl`` (which ali-oss
    refuses to build for an IP endpoint, hence path and vhost only).

    EMU-OSS-004, EMU-OSS-007, EMU-OSS-008, EMU-OSS-009, EMU-OSS-014, EMU-OSS-022."""
    prefix = f"node/listing/{addressing}/"
    result = ok(
        run_node("listing.js", "--prefix", prefix, bucket=bucket_name, addressing=addressing)
    )
    keys = result["keys"]

    listing = ok(result["list"])
    assert [o["name"] for o in listing["objects"]] == sorted(keys[:2])
    assert listing["prefixes"] == [prefix + "sub/"]
    assert listing["isTruncated"] is False
    for item in listing["objects"]:
        body = f"body of {item['name']}".encode()
        assert item["size"] == len(body)
        assert item["etag"] == md5_etag(body)
        assert item["lastModified"].endswith(".000Z")

    pages = ok(result["listV2Pages"])["pages"]
    assert [p["names"] for p in pages] == [sorted(keys)[:3], sorted(keys)[3:]]
    assert [p["isTruncated"] for p in pages] == [True, False]
    assert [int(p["keyCount"]) for p in pages] == [3, 1]

    multipart = ok(result["multipart"])
    assert multipart["initName"] == prefix + "low-level.bin"
    assert multipart["partEtag"] == md5_etag(b"\x07" * 150000)
    listed = multipart["listParts"]
    assert listed["uploadId"] == multipart["uploadId"]
    assert listed["count"] == 1 and listed["isTruncated"] == "false"
    assert listed["part"]["PartNumber"] == "1"
    assert listed["part"]["Size"] == "150000"
    assert listed["part"]["ETag"] == md5_etag(b"\x07" * 150000)
    assert [u["uploadId"] for u in multipart["uploads"]] == [multipart["uploadId"]]
    assert multipart["abortStatus"] == 204
    assert multipart["abortAgain"]["name"] == "NoSuchUploadError"
    assert open_uploads(oss2_root(bucket_name), prefix + "low-level.bin") == []

    deleted = ok(result["deleteMulti"])["deleted"]
    assert sorted(d["Key"] for d in deleted) == sorted([keys[0], prefix + "never-existed"])
    assert not oss2_root(bucket_name).object_exists(keys[0])

    ranged = ok(result["range"])
    assert ranged["status"] == 206 and ranged["body"] == "body"
    assert ranged["contentRange"] == f"bytes 0-3/{len('body of ' + keys[1])}"
    assert ok(result["stream"])["body"] == f"body of {keys[2]}"
    presigned = ok(result["signatureUrl"])
    assert presigned["status"] == 200 and presigned["body"] == f"body of {keys[3]}"


# --------------------------------------------------------------------------------------
# Multipart with checkpoints


def saved_numbers(checkpoint: dict[str, Any]) -> list[int]:
    return [p["number"] for p in checkpoint["doneParts"]]


def _assert_progress_trace(events: list[dict[str, Any]], parts: int, *, first_done: int = 0) -> str:
    """ali-oss's progress(): ``0`` after Initiate (fresh uploads only), ``k/(N+1)`` per
    finished part, ``1`` after Complete; returns the upload id seen in the checkpoints."""
    upload_ids = {e["uploadId"] for e in events if "uploadId" in e}
    assert len(upload_ids) == 1, events
    with_checkpoint = [e for e in events if "uploadId" in e]
    done = [e["doneParts"] for e in with_checkpoint]
    if first_done == 0:
        assert with_checkpoint[0]["p"] == 0 and done[0] == 0
        done = done[1:]
    assert done == list(range(first_done + 1, parts + 1)), done
    for event in with_checkpoint[1 if first_done == 0 else 0 :]:
        assert event["p"] == pytest.approx(event["doneParts"] / (parts + 1))
    assert events[-1]["p"] == 1 and "uploadId" not in events[-1]
    return upload_ids.pop()


def _assert_final_object(result: dict[str, Any], data: bytes, oss2_bucket: Any, key: str) -> None:
    complete = result["complete"]
    assert complete["status"] == 200
    assert complete["etag"] == multipart_etag(data, PART_SIZE)
    # x-oss-hash-crc64ecma on Complete is the CRC of the whole assembled object.
    assert complete["crc64"] == str(crc64(data))
    verify = result["verify"]
    assert verify["size"] == len(data)
    assert verify["head"]["contentLength"] == str(len(data))
    assert verify["head"]["crc64"] == str(crc64(data))
    assert verify["head"]["objectType"] == "Multipart"
    assert verify["head"]["contentType"] == "video/mp4"
    assert verify["head"]["etag"] == complete["etag"]
    assert verify["objectMeta"]["contentLength"] == str(len(data))
    assert verify["get"]["matches"] is True
    assert verify["get"]["length"] == len(data)
    assert verify["get"]["crc64"] == str(crc64(data))
    # The emulator's own view, over the wire with oss2 (CRC check on).
    assert oss2_bucket.get_object(key).read() == data
    meta = oss2_bucket.get_object_meta(key)
    assert meta.etag == multipart_etag(data, PART_SIZE).strip('"')
    assert open_uploads(oss2_bucket, key) == []


@pytest.mark.parametrize("addressing", ["ip", "vhost"])
def test_multipart_upload_records_checkpoints(
    run_node: NodeRunner,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    tmp_path: Path,
    addressing: str,
) -> None:
    """InitiateMultipartUpload, UploadPart x 11 (partSize 100 KiB, parallel 5, streamed
    bodies with Content-Length), CompleteMultipartUpload: ETag readable on every part, the
    multipart ETag and the whole-object CRC-64 on Complete, no upload left open.

    EMU-OSS-011, EMU-OSS-012, EMU-OSS-013, EMU-OSS-014."""
    key = f"node/multipart/{addressing}/video.mp4"
    path, data = upload_file(f"mp-{addressing}.bin", MULTIPART_SIZE)
    checkpoint_file = tmp_path / "checkpoint.json"
    result = ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--checkpoint-file", str(checkpoint_file),
            bucket=bucket_name, addressing=addressing,
        )
    )  # fmt: skip
    assert result["partSize"] == PART_SIZE and result["parallel"] == 5
    upload_id = _assert_progress_trace(result["events"], 11)
    final = result["finalCheckpoint"]
    assert final["uploadId"] == upload_id
    assert sorted(p["number"] for p in final["doneParts"]) == list(range(1, 12))
    for part in final["doneParts"]:
        chunk = data[(part["number"] - 1) * PART_SIZE : part["number"] * PART_SIZE]
        assert part["etag"] == md5_etag(chunk)
    # The last checkpoint written is plain JSON a later process could resume from.
    saved = json.loads(checkpoint_file.read_text())
    assert saved["file"] == str(path) and saved["fileSize"] == len(data)
    assert saved["partSize"] == PART_SIZE and saved["uploadId"] == upload_id
    _assert_final_object(result, data, oss2_root(bucket_name), key)


def test_multipart_cancel_then_resume_in_process(
    run_node: NodeRunner,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
) -> None:
    """client.cancel() after 3 parts aborts the in-flight part uploads mid-body; resuming
    with the in-memory checkpoint (the VOD SDK's same-session retry) uploads only the
    missing parts under the same upload id and completes.

    EMU-OSS-012, EMU-OSS-013, EMU-SRV-002 (request bodies cut short)."""
    key = "node/multipart/cancel-resume.mp4"
    path, data = upload_file("mp-cancel.bin", MULTIPART_SIZE)
    result = ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--cancel-after", "3", "--resume-in-process",
            bucket=bucket_name,
        )
    )  # fmt: skip
    assert result["cancelled"] is True
    cancel_cp = result["cancelCheckpoint"]
    done_before = sorted(result["resumedFrom"]["doneParts"])
    assert len(done_before) >= 3
    assert result["resumedFrom"]["uploadId"] == cancel_cp["uploadId"]
    assert result["finalCheckpoint"]["uploadId"] == cancel_cp["uploadId"]
    # The resumed attempt reports only the parts it uploaded, under the same upload id.
    resumed = [e for e in result["events"] if e["attempt"] == 2]
    assert _assert_progress_trace(resumed, 11, first_done=len(done_before)) == cancel_cp["uploadId"]
    assert sorted(p["number"] for p in result["finalCheckpoint"]["doneParts"]) == list(range(1, 12))
    _assert_final_object(result, data, oss2_root(bucket_name), key)


def test_multipart_resume_across_processes(
    run_node: NodeRunner,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    tmp_path: Path,
) -> None:
    """The reload case: process 1 saves each checkpoint to a file and stops after 4 parts;
    the emulator keeps the upload open with those parts (ListParts); process 2 resumes
    from the file, sends no Initiate, uploads the rest and completes.

    EMU-OSS-012, EMU-OSS-013, EMU-OSS-014."""
    key = "node/multipart/cross-process.mp4"
    path, data = upload_file("mp-cross.bin", MULTIPART_SIZE)
    checkpoint_file = tmp_path / "cp.json"
    first = ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--checkpoint-file", str(checkpoint_file), "--cancel-after", "4",
            bucket=bucket_name,
        )
    )  # fmt: skip
    assert first["cancelled"] is True
    saved = json.loads(checkpoint_file.read_text())
    upload_id = saved["uploadId"]
    done = sorted(p["number"] for p in saved["doneParts"])
    assert len(done) >= 4

    bucket = oss2_root(bucket_name)
    assert open_uploads(bucket, key) == [upload_id]
    listed = {p.part_number: p for p in bucket.list_parts(key, upload_id).parts}
    for part in saved["doneParts"]:
        chunk = data[(part["number"] - 1) * PART_SIZE : part["number"] * PART_SIZE]
        assert listed[part["number"]].etag == md5_etag(chunk).strip('"')
        assert listed[part["number"]].size == len(chunk)

    second = ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--resume-from", str(checkpoint_file),
            bucket=bucket_name,
        )
    )  # fmt: skip
    assert second["resumedFrom"] == {"uploadId": upload_id, "doneParts": saved_numbers(saved)}
    assert "cancelled" not in second
    # A resume starts with no progress(0): the first event is the first new part.
    _assert_progress_trace(second["events"], 11, first_done=len(done))
    _assert_final_object(second, data, bucket, key)


@pytest.mark.parametrize(
    ("effect", "names"),
    [
        (Effect.error(500, "InternalError", "injected"), {"InternalErrorError"}),
        (Effect.reset_before_body(), {"RequestError", "ResponseError"}),
    ],
    ids=["500-InternalError", "connection-reset"],
)
def test_multipart_part_failure_then_resume_from_checkpoint(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    tmp_path: Path,
    effect: Effect,
    names: set[str],
) -> None:
    """A failing UploadPart (server error, or the connection dropped before the body)
    fails the whole multipartUpload at once (ali-oss has no retry by default, and the VOD
    SDK does not retry these names, sdk-semantics §4.3); the checkpoint saved so far
    resumes the same upload to a correct object.

    EMU-OSS-061, EMU-SRV-004, EMU-OSS-013."""
    key = f"node/multipart/fault-{effect.type.value}.mp4"
    path, data = upload_file(f"mp-fault-{effect.type.value}.bin", MULTIPART_SIZE)
    checkpoint_file = tmp_path / "cp.json"
    fault = node_emulator.state.faults.add(
        Fault(
            match=Match(service="oss", operation="UploadPart", key=key, part_number=6),
            effect=effect,
            times=1,
        )
    )
    try:
        failed = run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--checkpoint-file", str(checkpoint_file),
            bucket=bucket_name,
        )  # fmt: skip
    finally:
        with contextlib.suppress(KeyError):
            node_emulator.state.faults.remove(fault.id)
    assert failed["ok"] is False
    assert failed["error"]["name"] in names, failed["error"]
    assert failed["error"]["partNum"] == 6
    assert failed["error"]["message"].startswith("Failed to upload some parts with error")
    saved = json.loads(checkpoint_file.read_text())
    assert 6 not in saved_numbers(saved)
    assert open_uploads(oss2_root(bucket_name), key) == [saved["uploadId"]]

    resumed = ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--resume-from", str(checkpoint_file),
            bucket=bucket_name,
        )
    )  # fmt: skip
    assert resumed["finalCheckpoint"]["uploadId"] == saved["uploadId"]
    _assert_final_object(resumed, data, oss2_root(bucket_name), key)


def test_multipart_resume_after_aborted_upload_reports_abort(
    run_node: NodeRunner,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    tmp_path: Path,
) -> None:
    """A checkpoint whose upload was aborted server-side: UploadPart answers 404
    NoSuchUpload, which ali-oss >= 6.17 turns into its ``abort`` event (sdk-semantics
    §3.2 step 6: the VOD SDK drops the record and reports OSSAbort).

    EMU-OSS-012, EMU-OSS-014."""
    key = "node/multipart/aborted.mp4"
    path, _ = upload_file("mp-aborted.bin", MULTIPART_SIZE)
    checkpoint_file = tmp_path / "cp.json"
    ok(
        run_node(
            "multipart.js", "--key", key, "--file", str(path),
            "--checkpoint-file", str(checkpoint_file), "--cancel-after", "2",
            bucket=bucket_name,
        )
    )  # fmt: skip
    saved = json.loads(checkpoint_file.read_text())
    bucket = oss2_root(bucket_name)
    bucket.abort_multipart_upload(key, saved["uploadId"])
    result = run_node(
        "multipart.js", "--key", key, "--file", str(path),
        "--resume-from", str(checkpoint_file),
        bucket=bucket_name,
    )  # fmt: skip
    assert result["ok"] is False
    assert result["error"]["name"] == "abort", result
    assert open_uploads(bucket, key) == []
    assert not bucket.object_exists(key)


# --------------------------------------------------------------------------------------
# STS


def test_sts_token_multipart_and_scope(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
) -> None:
    """ali-oss with ``stsToken`` (``x-oss-security-token``, signed as an x-oss header):
    a temporary credential limited to one key (as VOD's UploadAuth) can run the whole
    multipart upload of that key, and gets AccessDenied on any other key.

    EMU-OSS-024, EMU-OSS-025."""
    key = "node/sts/only-this.mp4"
    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name, key=key))
    path, data = upload_file("mp-sts.bin", MULTIPART_SIZE)
    result = ok(
        run_node("multipart.js", "--key", key, "--file", str(path),
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    _assert_progress_trace(result["events"], 11)
    _assert_final_object(result, data, oss2_root(bucket_name), key)

    other = run_node(
        "probe.js", "--key", "node/sts/other.mp4", "--ops", "put,multipart",
        "--multipart-file", str(path),
        bucket=bucket_name, credentials=creds,
    )  # fmt: skip
    assert other["ok"] is True
    for op in ("put", "multipart"):
        outcome = other["results"][op]
        assert outcome["ok"] is False
        assert outcome["error"]["name"] == "AccessDeniedError", outcome
        assert outcome["error"]["code"] == "AccessDenied"
        assert outcome["error"]["status"] == 403
    assert not oss2_root(bucket_name).object_exists("node/sts/other.mp4")


def test_sts_token_expired(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """An expired token: 403 SecurityTokenExpired, which the VOD SDK treats as token
    expiry (onUploadTokenExpired, sdk-semantics §4.1).

    EMU-OSS-024, EMU-OSS-006."""
    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name))
    state = node_emulator.state
    assert state.credentials.expire(creds.access_key_id, now=state.clock.now())
    result = ok(
        run_node("probe.js", "--key", "node/sts/expired.txt", "--ops", "put,head",
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    put = result["results"]["put"]
    assert put["error"]["name"] == "SecurityTokenExpiredError", put
    assert put["error"]["status"] == 403
    # HEAD has no body: the emulator's x-oss-err header carries the code.
    head = result["results"]["head"]
    assert head["error"]["name"] == "SecurityTokenExpiredError", head


# --------------------------------------------------------------------------------------
# Signature and key failures


@pytest.mark.parametrize("addressing", ["ip", "path"])
def test_wrong_secret_is_signature_does_not_match(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    addressing: str,
) -> None:
    """V1 signature check: a wrong secret gives 403 SignatureDoesNotMatch, which ali-oss
    names ``SignatureDoesNotMatchError`` (the VOD SDK's token-expiry trigger), on PUT,
    HEAD (via ``x-oss-err``), GET and at InitiateMultipartUpload.

    EMU-OSS-026, EMU-OSS-006, EMU-OSS-030."""
    key = f"node/errors/{addressing}/wrong-secret.bin"
    path, _ = upload_file(f"mp-wrong-{addressing}.bin", 3 * PART_SIZE)
    creds = Credentials(node_emulator.access_key_id, "definitely-not-the-secret")
    result = ok(
        run_node(
            "probe.js", "--key", key, "--ops", "put,head,get,multipart",
            "--multipart-file", str(path),
            bucket=bucket_name, credentials=creds, addressing=addressing,
        )
    )  # fmt: skip
    for op in ("put", "head", "get", "multipart"):
        outcome = result["results"][op]
        assert outcome["ok"] is False, (op, outcome)
        assert outcome["error"]["name"] == "SignatureDoesNotMatchError", (op, outcome)
        assert outcome["error"]["status"] == 403
        assert outcome["error"]["requestId"], (op, outcome)
    bucket = oss2_root(bucket_name)
    assert not bucket.object_exists(key)
    assert open_uploads(bucket, key) == []


def test_unknown_access_key_is_invalid_access_key_id(
    run_node: NodeRunner, bucket_name: str
) -> None:
    """EMU-OSS-026: an unknown AccessKeyId is 403 InvalidAccessKeyId."""
    creds = Credentials("LTAI5tNoSuchKeyAnywhere", "whatever")
    result = ok(
        run_node("probe.js", "--key", "node/errors/unknown-key.txt", "--ops", "put,get",
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    for op in ("put", "get"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "InvalidAccessKeyIdError", outcome
        assert outcome["error"]["code"] == "InvalidAccessKeyId"
        assert outcome["error"]["status"] == 403


def test_skewed_client_clock_is_request_time_too_skewed(
    run_node: NodeRunner, bucket_name: str
) -> None:
    """EMU-OSS-027: a request dated 30 minutes ahead is 403 RequestTimeTooSkewed. Node's
    ali-oss 6.23 does not correct itself (its browser build does: see
    test_ali_oss_browser.py)."""
    result = ok(
        run_node("probe.js", "--key", "node/errors/skewed.txt", "--ops", "put,head",
                 bucket=bucket_name, clock_skew_seconds=1800)
    )  # fmt: skip
    for op in ("put", "head"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "RequestTimeTooSkewedError", (op, outcome)
        assert outcome["error"]["status"] == 403


def test_missing_bucket_is_no_such_bucket(run_node: NodeRunner) -> None:
    """EMU-OSS-002: an object operation on a missing bucket is 404 NoSuchBucket."""
    result = ok(
        run_node("probe.js", "--key", "x.txt", "--ops", "put", bucket="node-no-such-bucket")
    )
    outcome = result["results"]["put"]
    assert outcome["error"]["name"] == "NoSuchBucketError", outcome
    assert outcome["error"]["status"] == 404


# --------------------------------------------------------------------------------------
# V4 signing (ali-oss ``authorizationV4: true``; the VOD JS SDK itself signs V1)


@pytest.mark.parametrize("addressing", ["ip", "path"])
def test_v4_signed_round_trip_and_multipart(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    addressing: str,
) -> None:
    """OSS4-HMAC-SHA256 from ali-oss (region from ``oss-<region>``, UNSIGNED-PAYLOAD), with
    the root key and with an STS token: small objects and a full multipart upload.

    EMU-OSS-021, EMU-OSS-024."""
    key = f"node/v4/{addressing}/hello.txt"
    basic = ok(
        run_node(
            "basic.js", "--key", key, "--stream-key", f"node/v4/{addressing}/streamed.bin",
            bucket=bucket_name, addressing=addressing, signature="v4",
        )
    )  # fmt: skip
    assert basic["get"]["matches"] is True and basic["streamed"]["matches"] is True
    assert basic["getAfterDelete"]["name"] == "NoSuchKeyError"

    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name))
    mp_key = f"node/v4/{addressing}/video.mp4"
    path, data = upload_file(f"mp-v4-{addressing}.bin", MULTIPART_SIZE)
    result = ok(
        run_node(
            "multipart.js", "--key", mp_key, "--file", str(path),
            bucket=bucket_name, addressing=addressing, signature="v4", credentials=creds,
        )
    )  # fmt: skip
    _assert_progress_trace(result["events"], 11)
    _assert_final_object(result, data, oss2_root(bucket_name), mp_key)


def test_v4_wrong_secret_is_signature_does_not_match(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """EMU-OSS-021, EMU-OSS-026."""
    creds = Credentials(node_emulator.access_key_id, "definitely-not-the-secret")
    result = ok(
        run_node(
            "probe.js", "--key", "node/v4/wrong.txt", "--ops", "put,head,get",
            bucket=bucket_name, credentials=creds, signature="v4",
        )
    )  # fmt: skip
    for op in ("put", "head", "get"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "SignatureDoesNotMatchError", (op, outcome)
        assert outcome["error"]["status"] == 403
