"""Run scenarios on one subject against one target and judge them.

Per scenario: reset the target and install its faults and settings, write the source files,
hand the subject a :class:`~vodref.conformance.model.Job`, observe the server, evaluate
every check. A scenario's status is the worst of its checks':

- ``pass``: every check holds;
- ``expected deviation``: only checks that cite an ``UP-DEV`` id the subject declares failed;
- ``fail``: some other check failed;
- ``error``: the subject raised (reported, never propagated) or the target broke;
- ``skipped``: the subject lacks a capability, or the target has no control plane.

Checks that read the server are skipped (with the reason) where the target cannot show it.
"""

from __future__ import annotations

import enum
import random
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastcrc

from .checks import Check, Observation, SourceInfo
from .model import Capability, FileSpec, Job, JobFile, Scenario, SubjectRun, TraceEvent
from .redact import redact_requests
from .subject import Subject
from .targets import Target

__all__ = ["CheckResult", "ScenarioResult", "Status", "run_scenarios"]

RETRY_DELAY = 0.05  # seconds before a subject's first retry: keeps fault scenarios short


class Status(str, enum.Enum):
    PASS = "pass"
    DEVIATION = "expected deviation"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    check: Check
    status: Status
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioResult:
    scenario: Scenario
    subject: str
    status: Status
    seconds: float
    checks: tuple[CheckResult, ...] = ()
    trace: tuple[TraceEvent, ...] = ()
    files: Mapping[str, Any] = field(default_factory=dict)
    requests: tuple[Mapping[str, Any], ...] = ()
    reason: str | None = None
    server: Mapping[str, int] = field(default_factory=dict)  # Observation.summary()

    @property
    def deviations(self) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for result in self.checks:
            if result.status is Status.DEVIATION:
                found.update(dict.fromkeys(result.check.deviations))
        return tuple(found)


def _content(spec: FileSpec, generation: int) -> bytes:
    # A seeded generator of our own (never module random): the same scenario writes the
    # same bytes on every run; a new generation is "the file changed".
    seed = f"{spec.label}:{spec.name}:{spec.size}:{generation}"
    return random.Random(seed).randbytes(spec.size)


def _write_sources(
    scenario: Scenario, directory: Path, title: Callable[[str], str], prefix: str
) -> tuple[tuple[JobFile, ...], dict[str, SourceInfo]]:
    files, infos = [], {}
    for spec in scenario.files:
        path = directory / f"{prefix}{spec.name}"
        if spec.sparse:
            with path.open("wb") as handle:
                handle.truncate(spec.size)
            crc = -1  # never compared: planning-only sizes are not uploaded whole
        else:
            data = _content(spec, 0)
            path.write_bytes(data)
            crc = int(fastcrc.crc64.xz(data))
        infos[spec.label] = SourceInfo(size=spec.size, crc64=crc, part_size=scenario.part_size)
        files.append(
            JobFile(
                label=spec.label,
                path=path,
                name=path.name,
                size=spec.size,
                is_image=spec.is_image,
                title=title(f"{scenario.id} {spec.label}"),
            )
        )
    return tuple(files), infos


def _judge(
    checks: Iterable[Check],
    observation: Observation,
    subject: Subject,
    server_visible: bool,
) -> tuple[CheckResult, ...]:
    results = []
    declared = subject.deviations
    for check in checks:
        if check.callbacks and Capability.CALLBACKS not in subject.capabilities:
            results.append(
                CheckResult(
                    check=check, status=Status.SKIP, reason="the subject reports no callbacks"
                )
            )
            continue
        if check.server and not server_visible:
            results.append(
                CheckResult(
                    check=check,
                    status=Status.SKIP,
                    reason="the target does not show the server's state",
                )
            )
            continue
        reason = check.evaluate(observation)
        if reason is None:
            results.append(CheckResult(check=check, status=Status.PASS))
        elif any(dev in declared for dev in check.deviations):
            results.append(CheckResult(check=check, status=Status.DEVIATION, reason=reason))
        else:
            results.append(CheckResult(check=check, status=Status.FAIL, reason=reason))
    return tuple(results)


def _overall(results: Sequence[CheckResult]) -> Status:
    statuses = {r.status for r in results}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.DEVIATION in statuses:
        return Status.DEVIATION
    return Status.PASS


def run_one(scenario: Scenario, subject: Subject, target: Target, workdir: Path) -> ScenarioResult:
    started = time.monotonic()

    def result(status: Status, reason: str | None = None, **more: Any) -> ScenarioResult:
        return ScenarioResult(
            scenario=scenario,
            subject=subject.name,
            status=status,
            seconds=time.monotonic() - started,
            reason=reason,
            **more,
        )

    missing = sorted(cap.value for cap in scenario.needs - subject.capabilities)
    if missing:
        return result(Status.SKIP, f"unsupported by {subject.name}: {', '.join(missing)}")
    skip = target.skip_reason(scenario)
    if skip is not None:
        return result(Status.SKIP, skip)
    directory = workdir / scenario.id
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    try:
        target.prepare(scenario)
        app = target.app()
        files, sources = _write_sources(scenario, directory, app.title, target.prefix)
    except Exception as error:
        return result(Status.ERROR, f"target: {type(error).__name__}: {error}")

    def on_interrupt() -> None:
        if scenario.suite_action == "change-source":
            for spec, file in zip(scenario.files, files, strict=True):
                data = _content(spec, 1)
                file.path.write_bytes(data)
                sources[spec.label] = SourceInfo(
                    size=spec.size, crc64=int(fastcrc.crc64.xz(data)), part_size=scenario.part_size
                )
        elif scenario.suite_action is not None:
            target.act(scenario.suite_action)

    job = Job(
        scenario_id=scenario.id,
        files=files,
        mode=scenario.mode,
        part_size=scenario.part_size,
        parallel=scenario.parallel,
        retry_delay=RETRY_DELAY,
        interrupt=scenario.interrupt,
        app=app,
        workdir=directory,
        timeout=scenario.timeout,
        on_interrupt=on_interrupt,
        http_proxy=target.http_proxy,
    )
    run: SubjectRun | None = None
    subject_error: str | None = None
    try:
        run = subject.run(job)
    except BaseException as error:  # a subject's failure is a result, never a crash
        if isinstance(error, KeyboardInterrupt):
            raise
        lines = traceback.format_exception_only(type(error), error)
        subject_error = f"{subject.name} raised: {''.join(lines).strip()}"
    try:
        seen = target.observe()
    except Exception as error:
        return result(
            Status.ERROR,
            f"observing the target: {type(error).__name__}: {error}",
            trace=run.trace if run else (),
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    requests = redact_requests(seen.get("requests", ()))
    note_created = getattr(target, "note_created", None)
    if run is not None and note_created is not None:  # the cloud cleanup deletes them
        note_created([o.video_id for o in run.files.values() if o.video_id])
    if run is None:
        return result(Status.ERROR, subject_error, requests=requests)
    observation = Observation(
        run=run,
        sources=sources,
        objects=seen.get("objects", ()),
        uploads=seen.get("uploads", ()),
        videos=seen.get("videos", ()),
        images=seen.get("images", ()),
        requests=seen.get("requests", ()),
        fault_hits=seen.get("fault_hits", ()),
        server_visible=target.control_plane,
    )
    checks = _judge(scenario.checks, observation, subject, target.control_plane)
    return result(
        _overall(checks),
        "; ".join(f"{r.check.describe}: {r.reason}" for r in checks if r.status is Status.FAIL)
        or None,
        checks=checks,
        trace=run.trace,
        files={label: vars_of(outcome) for label, outcome in run.files.items()},
        requests=requests,
        server=observation.summary(scenario.part_size) if target.control_plane else {},
    )


def vars_of(outcome: Any) -> dict[str, Any]:
    return {
        name: getattr(outcome, name) for name in ("state", "video_id", "image_url", "error_code")
    }


def run_scenarios(
    scenarios: Iterable[Scenario],
    subject: Subject,
    target: Target,
    *,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> list[ScenarioResult]:
    """Every scenario in order on ``subject`` (the target is started by the caller)."""
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="vodref-conformance-"))
    try:
        for scenario in scenarios:
            outcome = run_one(scenario, subject, target, workdir)
            results.append(outcome)
            if on_result is not None:
                on_result(outcome)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results
