"""An example subject adapter: Alibaba Cloud's Python VOD upload SDK, ``voduploadsdk``.

Run it with::

    pip install voduploadsdk
    vodref conformance --uploader python:vodref.conformance.adapters.voduploadsdk:subject

Copy this file to write an adapter for your own uploader: a class with ``name``,
``capabilities``, ``deviations``, ``run(job)`` and ``close()``, and a factory that takes
no arguments.

How voduploadsdk fits the suite: it is a *server-side* SDK. It holds the long-term
AccessKey (``job.app.access_key_id`` / ``access_key_secret``), calls CreateUploadVideo /
CreateUploadImage itself, and has no endpoint setting: its VOD calls and the progress
reports it posts after every part go to ``vod.<region>.aliyuncs.com``, so on the emulator
``job.http_proxy`` is set as ``HTTP_PROXY`` for the duration of the run (the emulator
answers ``*.aliyuncs.com`` requests as a proxy, and forwards nothing). It has no
callbacks, no stop, cancel or resume: its trace is ``started`` then ``succeeded`` or
``failed`` per file, and the scenarios needing more are "unsupported". Its known
weaknesses (a whole new multipart upload after a token expiry, parts sent serially,
a failure after three attempts reported as success) show up as failed checks: the suite
reports them, it does not crash on them.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from vodref.conformance.model import Capability, FileOutcome, Job, SubjectRun, TraceEvent

__all__ = ["VodUploadSdkSubject", "subject"]

_PROXY_NAMES = ("HTTP_PROXY", "http_proxy")
_CLEARED = ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy")
_ENV_LOCK = threading.Lock()  # the environment is process-wide: one run at a time


@contextlib.contextmanager
def _proxy(url: str | None) -> Iterator[None]:
    if url is None:
        yield
        return
    with _ENV_LOCK:
        saved = {name: os.environ.get(name) for name in (*_PROXY_NAMES, *_CLEARED)}
        try:
            for name in _CLEARED:
                os.environ.pop(name, None)
            for name in _PROXY_NAMES:
                os.environ[name] = url
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


class VodUploadSdkSubject:
    name = "voduploadsdk"
    capabilities = frozenset(
        {
            Capability.UPLOAD_AUTH,
            Capability.SEVERAL_FILES,
            Capability.IMAGE,
            Capability.TOKEN_EXPIRY,
            Capability.SMALL_PARTS,
        }
    )
    deviations: Mapping[str, str] = {}

    def __init__(self) -> None:
        # Imported here so that a missing package is a clear load error (exit 3).
        from voduploadsdk.AliyunVodUploader import AliyunVodUploader  # noqa: PLC0415
        from voduploadsdk.UploadImageRequest import UploadImageRequest  # noqa: PLC0415
        from voduploadsdk.UploadVideoRequest import UploadVideoRequest  # noqa: PLC0415

        self._uploader_class: Any = AliyunVodUploader
        self._image_request: Any = UploadImageRequest
        self._video_request: Any = UploadVideoRequest

    def run(self, job: Job) -> SubjectRun:
        trace: list[TraceEvent] = []
        files: dict[str, FileOutcome] = {}
        printed = io.StringIO()  # the SDK prints its progress; keep it off the table
        with _proxy(job.http_proxy), contextlib.redirect_stdout(printed):
            uploader = self._uploader_class(
                job.app.access_key_id, job.app.access_key_secret, job.app.region
            )
            # PutObject below 100 KiB as the JS SDK (the SDK's test is "size <= threshold").
            uploader.setMultipartUpload(multipartThreshold=102_399, multipartPartSize=job.part_size)
            for file in job.files:
                trace.append(TraceEvent(name="started", file=file.label))
                try:
                    if file.is_image:
                        request = self._image_request(str(file.path), file.title)
                        image_id, image_url = uploader.uploadImage(request, True)
                        files[file.label] = FileOutcome(
                            state="Success", video_id=image_id, image_url=image_url
                        )
                    else:
                        request = self._video_request(str(file.path), file.title)
                        info = uploader.uploadLocalVideo(request)
                        files[file.label] = FileOutcome(
                            state="Success", video_id=info.get("VideoId")
                        )
                    trace.append(TraceEvent(name="succeeded", file=file.label))
                except Exception as error:
                    code = str(getattr(error, "code", None) or type(error).__name__)
                    trace.append(TraceEvent(name="failed", file=file.label, detail={"code": code}))
                    files[file.label] = FileOutcome(state="Failure", error_code=code)
            trace.append(TraceEvent(name="ended"))
        return SubjectRun(trace=tuple(trace), files=files)

    def close(self) -> None:
        pass


def subject() -> VodUploadSdkSubject:
    """The factory ``--uploader python:vodref.conformance.adapters.voduploadsdk:subject``
    calls."""
    return VodUploadSdkSubject()
