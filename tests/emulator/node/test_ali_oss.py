"""ali-oss 6.x (the npm package the VOD JS upload SDK runs on) against the emulator, in Node.

Each test runs one script of ``tests/node`` with the real ali-oss (installed by ``npm ci``
from the committed lockfile, see conftest.py) and asserts on its JSON result line and on
the emulator's state as oss2 sees it over the wire.

This module covers multipart uploads with checkpoints: cancel, resume in and across
processes, a failing part, an upload aborted behind the client's back. Its siblings cover
small objects and listing (test_ali_oss_objects.py) and credentials, STS and signature
failures (test_ali_oss_auth.py); the helpers they share are in ``tests/support/node.py``.

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
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.node import (
    MULTIPART_SIZE,
    PART_SIZE,
    NodeEmulator,
    NodeRunner,
    assert_final_object,
    assert_progress_trace,
    md5_etag,
    ok,
    open_uploads,
)

from emulator.faults import Effect, Fault, Match

pytestmark = [pytest.mark.node]


# --------------------------------------------------------------------------------------
# Multipart with checkpoints


def saved_numbers(checkpoint: dict[str, Any]) -> list[int]:
    return [p["number"] for p in checkpoint["doneParts"]]


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
    upload_id = assert_progress_trace(result["events"], 11)
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
    assert_final_object(result, data, oss2_root(bucket_name), key)


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
    assert assert_progress_trace(resumed, 11, first_done=len(done_before)) == cancel_cp["uploadId"]
    assert sorted(p["number"] for p in result["finalCheckpoint"]["doneParts"]) == list(range(1, 12))
    assert_final_object(result, data, oss2_root(bucket_name), key)


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
    assert_progress_trace(second["events"], 11, first_done=len(done))
    assert_final_object(second, data, bucket, key)


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
    assert_final_object(resumed, data, oss2_root(bucket_name), key)


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
