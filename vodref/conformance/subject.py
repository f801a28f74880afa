"""The subject adapter protocol: the one thing a user writes to test their own uploader.

A subject is any object with::

    name: str                              shown in reports
    capabilities: frozenset[Capability]    what it can do; other scenarios are "unsupported"
    deviations: Mapping[str, str]          UP-DEV ids (specs/deviations.md) it follows on
                                           purpose, with a note: checks that cite one of
                                           them report "expected deviation", not "fail"
    run(job: Job) -> SubjectRun            upload job.files as the job says; return the
                                           trace and the final state of every file
    close() -> None                        release what it holds

``run`` may raise anything: the suite reports the exception as the scenario's error and
carries on with the next scenario. ``--uploader python:MODULE:FACTORY`` imports MODULE and
calls ``FACTORY()`` (no arguments) to get a subject; see
:mod:`vodref.conformance.adapters.voduploadsdk` for a complete example.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from .model import Capability, Job, SubjectRun

__all__ = ["Subject", "SubjectLoadError", "load_subject"]


@runtime_checkable
class Subject(Protocol):
    name: str
    capabilities: frozenset[Capability]
    deviations: Mapping[str, str]

    def run(self, job: Job) -> SubjectRun: ...

    def close(self) -> None: ...


class SubjectLoadError(Exception):
    """The ``--uploader`` value names nothing usable (bad form, import error, bad factory)."""


def load_subject(spec: str) -> Subject:
    """``vodref`` (default), ``python:MODULE:FACTORY`` or ``js:DIR``."""
    if spec == "vodref":
        from .vodref_subject import VodrefSubject  # noqa: PLC0415 - loads oss2 and the core

        return VodrefSubject()
    kind, _, rest = spec.partition(":")
    if kind == "python":
        module_name, _, factory_name = rest.partition(":")
        if not module_name or not factory_name:
            raise SubjectLoadError(f"expected python:MODULE:FACTORY, got {spec!r}")
        try:
            module = importlib.import_module(module_name)
            factory = getattr(module, factory_name)
        except Exception as error:
            raise SubjectLoadError(
                f"cannot load {spec!r}: {type(error).__name__}: {error}"
            ) from None
        try:
            subject = factory()
        except Exception as error:
            raise SubjectLoadError(
                f"{spec!r}: the factory raised {type(error).__name__}: {error}"
            ) from None
        if not isinstance(subject, Subject):
            raise SubjectLoadError(
                f"{spec!r} did not return a subject (needs name, capabilities, deviations, "
                "run(job), close())"
            )
        return subject
    if kind == "js":
        directory = Path(rest).expanduser()
        from .js_subject import JsSubject  # noqa: PLC0415 - starts nothing until run

        js_subject: Subject = JsSubject.from_directory(directory)
        return js_subject
    raise SubjectLoadError(
        f"unknown uploader {spec!r}: use vodref, python:MODULE:FACTORY or js:DIR"
    )
