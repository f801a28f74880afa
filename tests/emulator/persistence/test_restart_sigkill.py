"""Crash safety: SIGKILL the emulator mid-upload, restart it on the same data directory,
and finish the upload with the same upload id.

The emulator runs as a real subprocess (``python -m emulator --data-dir D --port 0``):
only a separate process can be killed without running any of its cleanup. One part is
killed *while its body is being sent* (a chunked body paused half-way), which proves a
half-written part never becomes visible.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import CreateUploadVideoRequest, GetVideoInfoRequest
from support.checksums import crc64

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

PART_SIZE = 256 * 1024
BANNER = "vodref-emulator listening on "


class EmulatorProcess:
    def __init__(self, data_dir: Path, *, port: str = "0") -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--data-dir", str(data_dir), "--port", port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert first.startswith(BANNER), first + self.process.stderr.read()  # type: ignore[union-attr]
        self.url = first[len(BANNER) :].strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        assert self.process.returncode == -signal.SIGKILL
        self._close_pipes()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def processes() -> Iterator[list[EmulatorProcess]]:
    started: list[EmulatorProcess] = []
    yield started
    for process in started:
        process.stop()


def payload(seed: int, size: int) -> bytes:
    return (seed.to_bytes(2, "big") * (size // 2 + 1))[:size]


class PausedBody:
    """A chunked request body that sends half of ``data`` and then waits, so the server
    is killed with a part half-received."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.half_sent = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        half = len(self.data) // 2
        yield self.data[:half]
        self.half_sent.set()
        self.release.wait(timeout=30)
        yield self.data[half:]


def test_sigkill_mid_upload_then_continue_with_the_same_upload_id(
    tmp_path: Path, processes: list[EmulatorProcess]
) -> None:
    """EMU-PER-001, EMU-PER-002: buckets, objects, parts of an open upload, videos, tokens,
    the clock and settings survive SIGKILL; a half-sent part never appears; the upload
    completes with the same id and the object's CRC-64 matches."""
    data_dir = tmp_path / "emulator-data"
    first = EmulatorProcess(data_dir)
    processes.append(first)
    session = oss2.Session()
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(auth, first.url, "durable", session=session)
    bucket.create_bucket()
    whole = payload(1, 300_000)
    bucket.put_object("whole.bin", whole)
    parts = [payload(n, PART_SIZE) for n in (2, 3)] + [payload(4, 1000)]
    upload_id = bucket.init_multipart_upload("movie.bin").upload_id
    etags = [bucket.upload_part("movie.bin", upload_id, n, parts[n - 1]).etag for n in (1, 2)]

    with Client(first.url) as control:
        frozen_at = control.freeze().now
        control.advance(30)
        control.update_settings(upload_auth_ttl_seconds=1234)
    vod = AcsClient(
        DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, "cn-shanghai", auto_retry=False
    )
    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("durable video")
    create.set_FileName("durable.mp4")
    create.set_endpoint(first.url.removeprefix("http://"))
    video = json.loads(vod.do_action_with_exception(create))
    upload_auth = json.loads(base64.b64decode(video["UploadAuth"]))

    # Part 3 is on the wire, half sent, when the process dies.
    paused = PausedBody(parts[2])
    errors: list[BaseException] = []

    def send_part_three() -> None:
        try:
            bucket.upload_part("movie.bin", upload_id, 3, paused)
        except BaseException as error:  # the connection dies with the server
            errors.append(error)

    sender = threading.Thread(target=send_part_three)
    sender.start()
    assert paused.half_sent.wait(timeout=10)
    first.kill()
    paused.release.set()
    sender.join(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], oss2.exceptions.RequestError)

    second = EmulatorProcess(data_dir)
    processes.append(second)
    bucket = oss2.Bucket(auth, second.url, "durable", session=session)
    listed = bucket.list_parts("movie.bin", upload_id).parts
    assert [(p.part_number, p.etag) for p in listed] == [(1, etags[0]), (2, etags[1])]
    assert bucket.get_object("whole.bin").read() == whole  # oss2 checks CRC-64 too
    assert bucket.head_object("whole.bin").server_crc == crc64(whole)

    with Client(second.url) as control:
        clock = control.clock()
        assert clock.frozen and clock.now == frozen_at + 30
        assert control.settings()["upload_auth_ttl_seconds"] == 1234
        [token] = [t for t in control.tokens() if t.kind == "upload-auth"]
        assert token.is_for(upload_auth["AccessKeyId"])
        assert token.expires_at == pytest.approx(token.issued_at + 1234)
    # The UploadAuth issued before the crash still authorises its one key.
    address = json.loads(base64.b64decode(video["UploadAddress"]))
    sts = oss2.StsAuth(
        upload_auth["AccessKeyId"], upload_auth["AccessKeySecret"], upload_auth["SecurityToken"]
    )
    vod_bucket = oss2.Bucket(sts, second.url, address["Bucket"], session=session)
    vod_bucket.put_object(address["FileName"], b"video bytes")
    info = GetVideoInfoRequest.GetVideoInfoRequest()
    info.set_VideoId(video["VideoId"])
    info.set_endpoint(second.url.removeprefix("http://"))
    assert json.loads(vod.do_action_with_exception(info))["Video"]["Title"] == "durable video"

    etags.append(bucket.upload_part("movie.bin", upload_id, 3, parts[2]).etag)
    result = bucket.complete_multipart_upload(
        "movie.bin", upload_id, [oss2.models.PartInfo(n, etags[n - 1]) for n in (1, 2, 3)]
    )
    assert result.status == 200
    expected = b"".join(parts)
    assert bucket.get_object("movie.bin").read() == expected
    assert bucket.head_object("movie.bin").server_crc == crc64(expected)
    session.session.close()
    vod.session.close()


def test_oss2_resumable_upload_resumes_across_a_sigkill(
    tmp_path: Path, processes: list[EmulatorProcess]
) -> None:
    """EMU-PER-001: oss2's own resumable_upload, killed with the emulator after 3 of 8
    parts, resumes after a restart on the same port and data directory: same upload id,
    only the missing parts are sent again, nothing is left open, CRC-64 matches."""
    data_dir = tmp_path / "emulator-data"
    source = tmp_path / "source.bin"
    content = os.urandom(8 * 100 * 1024)
    source.write_bytes(content)
    store = oss2.ResumableStore(root=str(tmp_path / "checkpoints"))
    first = EmulatorProcess(data_dir)
    processes.append(first)
    port = first.url.rsplit(":", 1)[1]
    session = oss2.Session()
    auth = oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
    bucket = oss2.Bucket(auth, first.url, "resumable", session=session)
    bucket.create_bucket()

    def kill_after_three_parts(consumed: int, total: int | None) -> None:
        if consumed >= 3 * 100 * 1024 and first.process.poll() is None:
            first.kill()

    with pytest.raises(oss2.exceptions.RequestError):
        oss2.resumable_upload(
            bucket,
            "big.bin",
            str(source),
            store=store,
            multipart_threshold=100 * 1024,
            part_size=100 * 1024,
            num_threads=1,
            progress_callback=kill_after_three_parts,
        )

    second = EmulatorProcess(data_dir, port=port)
    processes.append(second)
    bucket = oss2.Bucket(auth, second.url, "resumable", session=session)
    [open_upload] = list(oss2.MultipartUploadIterator(bucket))
    done_before = [
        p.part_number for p in oss2.PartIterator(bucket, "big.bin", open_upload.upload_id)
    ]
    assert done_before == [1, 2, 3]
    oss2.resumable_upload(
        bucket,
        "big.bin",
        str(source),
        store=store,
        multipart_threshold=100 * 1024,
        part_size=100 * 1024,
        num_threads=1,
    )
    assert bucket.get_object("big.bin").read() == content
    assert bucket.head_object("big.bin").server_crc == crc64(content)
    assert list(oss2.MultipartUploadIterator(bucket)) == []
    with Client(second.url) as control:
        log = control.requests()
    sent = sorted(r["part_number"] for r in log if r["operation"] == "UploadPart")
    assert sent == [4, 5, 6, 7, 8]
    [complete] = [r for r in log if r["operation"] == "CompleteMultipartUpload"]
    assert f"uploadId={open_upload.upload_id}" in complete["query"]
    session.session.close()
