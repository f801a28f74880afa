"""``--uploader js:DIR``: the web upload SDK in headless Chromium (work in progress)."""

from __future__ import annotations

from pathlib import Path

from .subject import Subject, SubjectLoadError

__all__ = ["JsSubject"]


class JsSubject:
    @classmethod
    def from_directory(cls, directory: Path) -> Subject:
        raise SubjectLoadError(f"js:{directory}: JavaScript subjects are not available yet")
