"""The conformance suite: any VOD uploader against the spec, the emulator and (opt-in) the
real cloud.

``vodref conformance`` / ``python -m vodref.conformance`` runs the scenario library
(:mod:`vodref.conformance.scenarios`, keyed by the ids in ``specs/``) on a subject (the
uploader under test: vodref itself, ``python:MODULE:FACTORY`` or ``js:DIR``) against a
target (the emulator it starts, or ``--target aliyun``), and reports a terminal table,
JUnit XML and a self-contained HTML report. The adapter protocol a user implements is
:class:`vodref.conformance.subject.Subject`. Exit codes are in
:mod:`vodref.conformance.cli`.

This package imports the emulator only inside functions, when a run starts it.
"""

from .model import (
    Capability,
    FileOutcome,
    Interrupt,
    InterruptKind,
    Job,
    JobFile,
    Mode,
    Scenario,
    SubjectRun,
    TraceEvent,
)
from .subject import Subject, SubjectLoadError, load_subject

__all__ = [
    "Capability",
    "FileOutcome",
    "Interrupt",
    "InterruptKind",
    "Job",
    "JobFile",
    "Mode",
    "Scenario",
    "Subject",
    "SubjectLoadError",
    "SubjectRun",
    "TraceEvent",
    "load_subject",
]
