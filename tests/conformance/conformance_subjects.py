"""Subjects for the suite's own tests, loaded the way users load theirs
(``--uploader python:conformance_subjects:FACTORY``; pytest puts this directory on
``sys.path``).

- ``naive``: a real but simple uploader (CreateUploadVideo, then one oss2 PutObject of the
  whole file, whatever its size): the multipart and boundary scenarios must fail on it.
- ``raising``: raises from ``run``: the suite must report an error and carry on.
- ``endless``: vodref, but drops every ``ended`` event and declares UP-DEV-002: the
  scenarios whose only failing check cites UP-DEV-002 must become expected deviations.
- ``endless_undeclared``: the same without the declaration: those scenarios must fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import oss2

from vodref.conformance import (
    Capability,
    FileOutcome,
    Job,
    SubjectRun,
    TraceEvent,
)
from vodref.conformance.vodref_subject import VodrefSubject


class NaiveSubject:
    name = "naive"
    capabilities = frozenset({Capability.UPLOAD_AUTH, Capability.SEVERAL_FILES})
    deviations: Mapping[str, str] = {}

    def run(self, job: Job) -> SubjectRun:
        trace: list[TraceEvent] = []
        files = {}
        for file in job.files:
            trace.append(TraceEvent(name="started", file=file.label))
            grant = job.app.create_upload_video(
                title=file.title, file_name=file.name, file_size=file.size
            )
            auth = json.loads(base64.b64decode(grant.upload_auth))
            address = json.loads(base64.b64decode(grant.upload_address))
            session = oss2.Session()
            try:
                bucket = oss2.Bucket(
                    oss2.StsAuth(
                        auth["AccessKeyId"], auth["AccessKeySecret"], auth["SecurityToken"]
                    ),
                    address["Endpoint"],
                    address["Bucket"],
                    session=session,
                )
                bucket.put_object(address["FileName"], file.path.read_bytes())
            finally:
                session.session.close()
            trace.append(TraceEvent(name="progress", file=file.label, detail={"ratio": 1.0}))
            trace.append(TraceEvent(name="succeeded", file=file.label))
            files[file.label] = FileOutcome(state="Success", video_id=grant.video_id)
        trace.append(TraceEvent(name="ended"))
        return SubjectRun(trace=tuple(trace), files=files)

    def close(self) -> None:
        pass


class RaisingSubject:
    name = "raising"
    capabilities = frozenset(Capability)
    deviations: Mapping[str, str] = {}

    def run(self, job: Job) -> SubjectRun:
        raise RuntimeError(f"this uploader is broken ({job.scenario_id})")

    def close(self) -> None:
        pass


class EndlessSubject:
    """vodref whose onUploadEnd never reaches the application (as JS when a file fails)."""

    def __init__(self, declare: bool) -> None:
        self.name = "endless" if declare else "endless-undeclared"
        self._inner = VodrefSubject()
        self.capabilities = self._inner.capabilities
        self.deviations: Mapping[str, str] = (
            {"UP-DEV-002": "onUploadEnd is not delivered"} if declare else {}
        )

    def run(self, job: Job) -> SubjectRun:
        run = self._inner.run(job)
        return SubjectRun(trace=tuple(e for e in run.trace if e.name != "ended"), files=run.files)

    def close(self) -> None:
        self._inner.close()


def naive() -> NaiveSubject:
    return NaiveSubject()


def raising() -> RaisingSubject:
    return RaisingSubject()


def endless() -> EndlessSubject:
    return EndlessSubject(declare=True)


def endless_undeclared() -> EndlessSubject:
    return EndlessSubject(declare=False)


def not_a_subject() -> object:
    return object()
