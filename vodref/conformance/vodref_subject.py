"""The default subject: vodref's own ``Vod``, driven the JavaScript way.

The application code is the JS SDK's documented pattern, in Python: ``on_upload_started``
asks the AppServer for CreateUploadVideo / RefreshUploadVideo (or an STS token) and answers
with ``set_upload_auth_and_address`` (or ``set_sts_token``); ``on_upload_token_expired``
answers with ``resume_upload_with_auth`` (or ``resume_upload_with_sts_token``). So its
trace is comparable, callback for callback, with a JS subject's.

A crash is modelled faithfully in one process: checkpoints go to an in-memory store that
is frozen at the moment of the "crash" (nothing the dying uploader writes afterwards
survives), the uploader is dropped without any cancel or abort, and a new ``Vod`` over the
same store resumes the same file.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Mapping
from typing import Any

from vodref import Vod

from .model import (
    Capability,
    FileOutcome,
    InterruptKind,
    Job,
    JobFile,
    Mode,
    SubjectRun,
    TraceEvent,
)
from .redact import redact_text

__all__ = ["CrashableStore", "VodrefSubject"]


class CrashableStore:
    """An in-memory checkpoint store (the ``CheckpointStore`` protocol) that can be frozen:
    after :meth:`crash`, saves and deletes are ignored, as if the process had died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self._frozen = False

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(key)
            return None if record is None else copy.deepcopy(record)

    def save(self, key: str, record: Any) -> None:
        value = record.to_dict() if hasattr(record, "to_dict") else dict(record)
        with self._lock:
            if not self._frozen:
                self._records[key] = copy.deepcopy(value)

    def delete(self, key: str) -> None:
        with self._lock:
            if not self._frozen:
                self._records.pop(key, None)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def crash(self) -> None:
        with self._lock:
            self._frozen = True

    def restart(self) -> None:
        with self._lock:
            self._frozen = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


class _Run:
    """One scenario: the uploader(s), the app callbacks, the trace."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.store = CrashableStore()
        self.trace: list[TraceEvent] = []
        self.lock = threading.Lock()
        self.interrupt_reached = threading.Event()
        self.labels: dict[str, str] = {}  # file_id -> label
        self.by_path = {str(f.path): f for f in job.files}
        self.vod: Vod | None = None
        self.outcomes: dict[str, FileOutcome] = {}
        self.image_urls: dict[str, str] = {}  # label -> ImageURL from CreateUploadImage

    def record(self, name: str, label: str | None, **detail: Any) -> None:
        with self.lock:
            self.trace.append(TraceEvent(name=name, file=label, detail=detail))

    def label(self, info: Any) -> str:
        return self.labels.get(info.file_id, str(info.name))

    def new_vod(self) -> Vod:
        job = self.job
        vod = Vod(
            part_size=job.part_size,
            parallel=job.parallel,
            retry_count=3,
            retry_duration=job.retry_delay,
            timeout=10.0,
            refresh_margin=None,  # expiry must be met reactively, as by the JS SDK
            checkpoint_store=self.store,
            vod_endpoint=job.app.vod_endpoint,
            region=job.app.region,
            on_upload_started=self.started,
            on_upload_succeed=lambda info: self.record("succeeded", self.label(info)),
            on_upload_failed=lambda info, code, message: self.record(
                "failed", self.label(info), code=code
            ),
            on_upload_progress=self.progress,
            on_upload_token_expired=self.token_expired,
            on_upload_canceled=lambda info, reason: self.record(
                "canceled", self.label(info), reason=reason
            ),
            on_upload_end=lambda: self.record("ended", None),
        )
        self.vod = vod
        return vod

    def add(self, vod: Vod, file: JobFile) -> None:
        view = vod.add_file(
            str(file.path),
            param_data={"Vod": {"Title": file.title}},
            is_image=file.is_image,
        )
        self.labels[view.file_id] = file.label
        self.record("added", file.label)

    # ------------------------------------------------------------ the application's code

    def started(self, info: Any) -> None:
        label = self.label(info)
        self.record("started", label, resumed=bool(info.video_id))
        file = next(f for f in self.job.files if f.label == label)
        vod, app = self.vod, self.job.app
        assert vod is not None
        if self.job.mode is Mode.STS:
            sts = app.assume_role()
            vod.set_sts_token(info, sts.access_key_id, sts.access_key_secret, sts.security_token)
            return
        if info.video_id:
            grant = app.refresh_upload_video(info.video_id)
        elif file.is_image:
            grant = app.create_upload_image(
                title=file.title, image_ext=file.name.rsplit(".", 1)[-1]
            )
            if grant.image_url:  # the app keeps it: JS hands no ImageURL to the uploader
                self.image_urls[label] = grant.image_url
        else:
            grant = app.create_upload_video(
                title=file.title, file_name=file.name, file_size=file.size
            )
        vod.set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    def token_expired(self, info: Any) -> None:
        label = self.label(info)
        self.record("token-expired", label)
        vod, app = self.vod, self.job.app
        assert vod is not None
        if self.job.mode is Mode.STS:
            sts = app.assume_role()
            vod.resume_upload_with_sts_token(
                sts.access_key_id, sts.access_key_secret, sts.security_token, file=info
            )
        else:
            grant = app.refresh_upload_video(info.video_id)
            vod.resume_upload_with_auth(grant.upload_auth, file=info)

    def progress(self, info: Any, total: int, ratio: float) -> None:
        label = self.label(info)
        self.record("progress", label, ratio=round(ratio, 4), bytes=info.bytes_done)
        interrupt = self.job.interrupt
        if (
            interrupt is not None
            and interrupt.file == label
            and info.parts_done >= interrupt.after_parts
        ):
            self.interrupt_reached.set()

    # ------------------------------------------------------------ the scenario's script

    def execute(self) -> SubjectRun:
        job = self.job
        vod = self.new_vod()
        try:
            for file in job.files:
                self.add(vod, file)
            self.record("action", None, do="start")
            vod.start_upload()
            if job.interrupt is not None:
                if not self.interrupt_reached.wait(job.timeout):
                    raise TimeoutError(f"never reached {job.interrupt}")
                vod = self.interrupt(vod)
            vod.wait(job.timeout)
            self.collect(vod)
        finally:
            if self.vod is not None:
                self.vod.close()
        return SubjectRun(trace=tuple(self.trace), files=dict(self.outcomes))

    def interrupt(self, vod: Vod) -> Vod:
        interrupt = self.job.interrupt
        assert interrupt is not None
        target = next(fid for fid, label in self.labels.items() if label == interrupt.file)
        kind = interrupt.kind
        self.record("action", interrupt.file, do=kind.value)
        if kind is InterruptKind.STOP:
            vod.stop_upload()
            vod.wait(self.job.timeout)
            self.job.on_interrupt()
            self.record("action", None, do="start")
            vod.start_upload()
        elif kind is InterruptKind.HALT:
            vod.stop_upload()
            vod.wait(self.job.timeout)
            self.job.on_interrupt()
        elif kind is InterruptKind.CANCEL:
            vod.cancel_file(target)
            vod.wait(self.job.timeout)
            self.job.on_interrupt()
            self.record("action", interrupt.file, do="resume")
            vod.resume_file(target)
            vod.start_upload()
        elif kind is InterruptKind.DELETE:
            vod.delete_file(target)
            self.outcomes[interrupt.file] = FileOutcome(state="Deleted")
            self.job.on_interrupt()
        elif kind is InterruptKind.HOOK:
            self.job.on_interrupt()
        elif kind is InterruptKind.CRASH:
            self.store.crash()
            vod.close()  # no cancel, no abort; its late checkpoint writes are lost
            self.collect(vod)
            self.job.on_interrupt()
            self.store.restart()
            self.record("action", None, do="restart")
            vod = self.new_vod()
            self.labels.clear()
            for file in self.job.files:
                self.add(vod, file)
            vod.start_upload()
        return vod

    def collect(self, vod: Vod) -> None:
        for view in vod.list_files():
            label = self.labels.get(view.file_id, view.name)
            code = view.error.code if view.error is not None else None
            self.outcomes[label] = FileOutcome(
                state=view.state.value,
                video_id=view.video_id,
                image_url=view.image_url or self.image_urls.get(label),
                error_code=code,
            )


class _TraceLogHandler(logging.Handler):
    def __init__(self, run: _Run) -> None:
        super().__init__(logging.INFO)
        self._run = run

    def emit(self, record: logging.LogRecord) -> None:
        self._run.record(
            "log", None, level=record.levelname, message=redact_text(record.getMessage())
        )


class VodrefSubject:
    """``--uploader vodref`` (the default)."""

    name = "vodref"
    capabilities = frozenset(Capability)
    deviations: Mapping[str, str] = {}

    def run(self, job: Job) -> SubjectRun:
        run = _Run(job)
        # vodref logs what it noticed (a changed source, a callback that raised): into the
        # trace, not onto the terminal.
        handler = _TraceLogHandler(run)
        logger = logging.getLogger("vodref")
        logger.addHandler(handler)
        try:
            return run.execute()
        finally:
            logger.removeHandler(handler)

    def close(self) -> None:
        pass
