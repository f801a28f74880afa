"""The conformance suite's values: scenarios, jobs handed to a subject, traces, results.

Everything here is plain frozen data, so a scenario can be listed, filtered, printed and
compared without running anything, and a subject adapter needs nothing but these types.

A :class:`Scenario` says what to upload (files, credential mode, part size), which faults
to install through the emulator's control plane (their JSON form, see the README's
"Faults"), what the subject must do in the middle (an :class:`Interrupt`), and which
:class:`~vodref.conformance.checks.Check` values must hold afterwards; every check names
the spec ids it proves.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .appserver import AppServer
    from .checks import Check

__all__ = [
    "Capability",
    "FileOutcome",
    "FileSpec",
    "Interrupt",
    "InterruptKind",
    "Job",
    "JobFile",
    "Mode",
    "Scenario",
    "SubjectRun",
    "TraceEvent",
]


class Mode(str, enum.Enum):
    """How the subject gets credentials (the JS SDK's two modes)."""

    UPLOAD_AUTH = "upload-auth"  # the AppServer calls CreateUploadVideo / RefreshUploadVideo
    STS = "sts"  # the AppServer hands out STS tokens; the uploader calls VOD itself


class Capability(str, enum.Enum):
    """What a subject can do. A scenario needing a capability the subject lacks is skipped
    ("unsupported"), not failed."""

    UPLOAD_AUTH = "upload-auth"
    STS = "sts"
    STS_REFRESH = "sts-refresh"  # a new STS token mid-upload continues the same upload
    IMAGE = "image"
    SEVERAL_FILES = "several-files"
    STOP_START = "stop-start"
    CANCEL_RESUME = "cancel-resume"
    DELETE = "delete"
    CRASH_RESUME = "crash-resume"
    TOKEN_EXPIRY = "token-expiry"  # reacts to an expired token by asking for new credentials
    SMALL_PARTS = "small-parts"  # honours a requested part size of 100 KiB
    CALLBACKS = "callbacks"  # reports the AliyunUpload.Vod callbacks in its trace


class InterruptKind(str, enum.Enum):
    """What the subject does once ``after_parts`` parts of one file are acknowledged."""

    STOP = "stop"  # stopUpload, then startUpload: the same multipart upload continues
    CANCEL = "cancel"  # cancelFile, then resumeFile + startUpload: a new upload, same video
    DELETE = "delete"  # deleteFile: the file is gone, the others carry on
    CRASH = "crash"  # the process is lost (no cleanup); a new uploader resumes its checkpoint
    HALT = "halt"  # stopUpload and give up (used to inspect a plan without uploading it)
    HOOK = "hook"  # nothing by itself: the suite acts (e.g. expires every token)


@dataclass(frozen=True, slots=True, kw_only=True)
class Interrupt:
    kind: InterruptKind
    file: str  # the file's label
    after_parts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSpec:
    """A source file the suite writes before the run: ``size`` bytes of a seeded stream
    (``sparse`` files are zeros and are not written out, for planning-only sizes)."""

    label: str
    name: str
    size: int
    sparse: bool = False

    @property
    def is_image(self) -> bool:
        return self.name.rsplit(".", 1)[-1].lower() in {"png", "jpg", "jpeg", "gif"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    id: str
    title: str
    spec_ids: tuple[str, ...]
    files: tuple[FileSpec, ...]
    checks: tuple[Check, ...]
    mode: Mode = Mode.UPLOAD_AUTH
    part_size: int = 102_400
    parallel: int = 2
    faults: tuple[Mapping[str, Any], ...] = ()
    settings: Mapping[str, float] = field(default_factory=dict)
    interrupt: Interrupt | None = None
    # What the suite does when the subject reaches the interrupt (before it resumes).
    suite_action: str | None = None  # "expire-tokens" | "change-source"
    needs: frozenset[Capability] = frozenset()
    timeout: float = 60.0

    @property
    def needs_control_plane(self) -> bool:
        """Faults, settings and suite actions need the emulator's control plane."""
        return bool(self.faults or self.settings or self.suite_action == "expire-tokens")

    def all_spec_ids(self) -> tuple[str, ...]:
        seen = dict.fromkeys(self.spec_ids)
        for check in self.checks:
            seen.update(dict.fromkeys(check.spec_ids))
        return tuple(seen)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFile:
    label: str
    path: Path
    name: str
    size: int
    is_image: bool
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What a subject is asked to do for one scenario.

    ``app`` plays the application's server (CreateUploadVideo, RefreshUploadVideo,
    CreateUploadImage, AssumeRole against the target). ``on_interrupt`` must be called by
    the subject once the interrupt has taken effect (after the stop, cancel, delete or
    crash, before resuming); the suite acts there (rewrites a source, expires tokens).
    ``http_proxy`` is where a subject without an endpoint setting must send its requests
    (the emulator answers ``*.aliyuncs.com`` as a proxy), or None on the real cloud.
    """

    scenario_id: str
    files: tuple[JobFile, ...]
    mode: Mode
    part_size: int
    parallel: int
    retry_delay: float
    interrupt: Interrupt | None
    app: AppServer
    workdir: Path
    timeout: float
    on_interrupt: Callable[[], None]
    http_proxy: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEvent:
    """One observable step of the subject, in the JS callback vocabulary:
    ``added``, ``started``, ``progress`` (detail: ``ratio``, ``bytes``), ``succeeded``,
    ``failed`` (detail: ``code``), ``token-expired``, ``canceled`` (detail: ``reason``),
    ``ended``, plus ``action`` for what the driver of the subject did (stop, start, ...)."""

    name: str
    file: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def short(self) -> str:
        text = self.name if self.file is None else f"{self.name}:{self.file}"
        if self.detail:
            text += "(" + ",".join(f"{k}={v}" for k, v in sorted(self.detail.items())) + ")"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class FileOutcome:
    state: str  # Success, Failure, Canceled, Stopped, Ready, Uploading, Deleted
    video_id: str | None = None
    image_url: str | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectRun:
    trace: tuple[TraceEvent, ...]
    files: Mapping[str, FileOutcome]
    notes: tuple[str, ...] = ()
