"""Adding a file to the list: the path from ``Vod.add_file`` to the core's ``AddFile``.

Kept apart from :class:`~vodref.api.vod.Vod` because it is one concern with several steps
that must run in order: refuse a second unfinished entry of the same content (UP-API-018),
take the per-file upload lock (UPL-DUR-007), find the checkpoint to offer and what to abort
when starting over (``vodref.resume``), and undo all of it if the core refuses the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from ..core import (
    AddFile,
    CheckpointError,
    FileState,
    FileView,
    MediaKind,
    TargetOverride,
    UnknownFileError,
    UploaderOptions,
    UsageError,
)
from ..driver import Driver
from ..errors import FileAlreadyAddedError
from ..finished import FinishedUpload
from ..performer import FileContext
from ..resume import ResumeFinder, restart_offer
from ..sources import FileSource, open_source
from .guards import FileGuards
from .js_options import parse_param_data

__all__ = ["FileIntake"]

log = logging.getLogger("vodref")

_IMAGE_EXTENSIONS = re.compile(r"\.(jpe?g|png|gif)$", re.IGNORECASE)
_FINISHED = frozenset({FileState.SUCCESS, FileState.CANCELED})

FileInput = str | os.PathLike[str] | BinaryIO | bytes | FileSource


class FileIntake:
    """Adds files for one ``Vod``; ``files`` is the Vod's per-file context table, which the
    performer reads."""

    def __init__(
        self,
        *,
        options: UploaderOptions,
        resume: ResumeFinder,
        guards: FileGuards,
        files: dict[str, FileContext],
        driver: Driver,
        view: Callable[[str], FileView],
    ) -> None:
        self._options = options
        self._resume = resume
        self._guards = guards
        self._files = files
        self._driver = driver
        self._view = view
        self._next_file_number = 0
        self._files_lock = threading.Lock()
        # fingerprint -> ids of the entries the core took with it (some may have left the
        # list since), under the driver lock: refuse_second_entry looks at those only, not
        # at a snapshot of every file, which made adding n files O(n^2) (issue 12).
        self._ids_by_fingerprint: dict[str, list[str]] = {}

    def add(
        self,
        file: FileInput,
        endpoint: str | None,
        bucket: str | None,
        object: str | None,
        param_data: str | dict[str, Any] | None,
        *,
        name: str | None,
        is_image: bool | None,
    ) -> FileView:
        """What ``Vod.add_file`` does (see there), but the ``add_file_success`` callback."""
        param_text, vod_params = parse_param_data(param_data)
        source = open_source(file, name)
        file_id = ""
        try:
            file_name = name or source.name
            fingerprint = self._resume.fingerprint(source)
            # UP-API-018: a second unfinished entry of this content is refused before the
            # per-file lock is taken (the lock would say another uploader holds it).
            self.refuse_second_entry(fingerprint, file_name)
            media_kind = _media_kind(file_name, is_image)
            with self._files_lock:
                self._next_file_number += 1
                file_id = f"file-{self._next_file_number}"
            # One uploader at a time per file (UPL-DUR-007), taken before the checkpoint is
            # read so two processes never resume (or create) the same video at once.
            overrides = (endpoint, bucket, object)
            self._guards.hold(
                file_id,
                self._guards.lock(fingerprint, file_name),
                self._guards.finished_key(source, media_kind, param_text, overrides),
            )
            offer = self._resume.offer_for(
                source,
                file_name=file_name,
                fingerprint=fingerprint,
                media_kind=media_kind,
                part_size=self._options.part_size,
            )
            checkpoint = offer.checkpoint
            override = (
                TargetOverride(endpoint=endpoint, bucket=bucket, key=object)
                if any(overrides)
                else None
            )
            identity_key = (
                self._resume.identity_key(source) if media_kind is MediaKind.VIDEO else None
            )
            self._files[file_id] = FileContext(
                source=source,
                vod_params=vod_params,
                param_data=param_text,
                identity_key=identity_key,
                video_id=checkpoint.video_id if checkpoint is not None else None,
            )
            event = AddFile(
                file_id=file_id,
                name=file_name,
                size=source.size,
                fingerprint=fingerprint,
                media_kind=media_kind,
                target_override=override,
                param_data=param_text,
                checkpoint=checkpoint,
                stale_upload_id=offer.stale_upload_id,
            )
            try:
                try:
                    self._submit(event, fingerprint)
                except CheckpointError as error:
                    # The core judged the stored record unfit for this file: start afresh,
                    # keeping its video and aborting its upload (UPL-DUR-006).
                    log.warning("not resuming %s: %s", file_name, error)
                    fresh = restart_offer(offer, file_name, source.size, self._options.part_size)
                    self._submit(
                        dataclasses.replace(
                            event,
                            checkpoint=fresh.checkpoint,
                            stale_upload_id=fresh.stale_upload_id,
                        ),
                        fingerprint,
                    )
            except BaseException:
                self._files.pop(file_id, None)
                raise
            if identity_key is not None:
                self._resume.remember(identity_key, fingerprint, file_name)
        except BaseException:
            if file_id:
                self._guards.release(file_id)
            source.close()
            raise
        with self._driver.lock:
            return self._view(file_id)

    def _submit(self, event: AddFile, fingerprint: str) -> None:
        with self._driver.lock:
            self._driver.submit(event)  # raises, changing nothing, when refused
            self._ids_by_fingerprint.setdefault(fingerprint, []).append(event.file_id)

    def find_finished(
        self,
        file: FileInput,
        endpoint: str | None,
        bucket: str | None,
        object: str | None,
        param_data: str | dict[str, Any] | None,
        *,
        name: str | None,
        is_image: bool | None,
    ) -> FinishedUpload | None:
        """See ``Vod.find_finished``."""
        if self._guards.scope is None:
            raise UsageError("find_finished needs Vod(finished_scope=...)")
        param_text, _ = parse_param_data(param_data)
        source = open_source(file, name)
        try:
            kind = _media_kind(name or source.name, is_image)
            key = self._guards.finished_key(source, kind, param_text, (endpoint, bucket, object))
        finally:
            source.close()
        return None if key is None else self._guards.find(key)

    def refuse_second_entry(self, fingerprint: str, file_name: str) -> None:
        """UP-API-018: JS ``addFile`` refuses a file it already holds. Two unfinished entries
        of one content would share a checkpoint and make two videos."""
        with self._driver.lock:
            ids = self._ids_by_fingerprint.get(fingerprint, [])
            for file_id in list(ids):
                try:
                    view = self._view(file_id)
                except UnknownFileError:  # deleted, or the list was cleaned
                    ids.remove(file_id)
                    continue
                if view.state not in _FINISHED:
                    raise FileAlreadyAddedError(
                        f"{file_name!r} is already in the list as {view.file_id} "
                        f"({view.state.value}); delete_file it first to add it again"
                    )


def _media_kind(file_name: str, is_image: bool | None) -> MediaKind:
    if is_image is None:
        is_image = bool(_IMAGE_EXTENSIONS.search(file_name))
    return MediaKind.IMAGE if is_image else MediaKind.VIDEO
