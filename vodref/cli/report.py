"""What ``vodref upload`` tells the user: progress while it runs, results at the end.

:class:`Reporter` turns the uploader's callbacks into the chosen progress output, and
:meth:`Reporter.finish` is the one place the end of a run is reported, whatever ended it
(all files final, or Ctrl-C): it stops the display first, so nothing redraws over what it
prints, then prints one result per file and, last, the interrupt notice.

Streams: results (``NAME<TAB>VideoId: ID``) go to stdout; progress, failures and notices to
stderr. With ``--progress json`` stdout carries JSON objects only, one per line: progress
events and, at the end, one ``{"event": "result", ...}`` per file. A file is named by the
path as given on the command line, so ``d1/a.mp4`` and ``d2/a.mp4`` stay apart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from ..core import FileState, FileView
from .progress import Display, LineLog

__all__ = ["INTERRUPT_NOTICE", "Reporter", "choose_progress_mode"]

INTERRUPT_NOTICE = (
    "vodref: interrupted; finished parts are kept. Run the same command again to resume."
)


def choose_progress_mode(requested: str, err: TextIO) -> str:
    """``auto`` is bars on an interactive terminal (not ``TERM=dumb``), lines otherwise;
    bars asked for where they cannot be drawn are lines too."""
    if requested in ("auto", "bars"):
        from .bars import terminal_console  # noqa: PLC0415 (rich only where bars may be drawn)

        return "bars" if terminal_console(err).is_interactive else "lines"
    return requested


class Reporter:
    """Progress output for one run, and its final report. Thread-safe: the uploader calls
    back from its worker threads."""

    def __init__(self, mode: str, out: TextIO, err: TextIO) -> None:
        self._mode = mode
        self._out = out
        self._err = err
        self._lock = threading.Lock()
        self._labels: dict[str, str] = {}
        self._display: Display | None = None
        if mode == "bars":
            from .bars import TerminalBars, terminal_console  # noqa: PLC0415 (as above)

            self._display = TerminalBars(terminal_console(err))
        elif mode == "lines":
            self._display = LineLog(err)
        self.failures: dict[str, tuple[str, str]] = {}

    def label(self, view: FileView) -> str:
        return self._labels.get(view.file_id, view.name)

    def _json(self, **fields: Any) -> None:
        with self._lock:
            self._out.write(json.dumps(fields) + "\n")
            self._out.flush()

    # -- while the run goes on -----------------------------------------------------------

    def added(self, view: FileView, label: str) -> None:
        self._labels[view.file_id] = label
        if self._display is not None:
            self._display.add(view.file_id, label, view.size)
        elif self._mode == "json":
            self._json(event="queued", file=label, size=view.size)

    def started(self, view: FileView) -> None:
        if self._display is not None:
            self._display.start(view.file_id)
        elif self._mode == "json":
            self._json(event="started", file=self.label(view), video_id=view.video_id)

    def progress(self, view: FileView, done: int, total: int) -> None:
        if self._display is not None:
            self._display.update(view.file_id, done)
        elif self._mode == "json":
            self._json(
                event="progress",
                file=self.label(view),
                bytes=done,
                total=total,
                video_id=view.video_id,
                upload_id=view.upload_id,
            )

    def succeeded(self, view: FileView) -> None:
        if self._display is not None:
            self._display.finish(view.file_id, True, "done")
        elif self._mode == "json":
            self._json(
                event="succeeded",
                file=self.label(view),
                video_id=view.video_id,
                image_url=view.image_url,
            )

    def failed(self, view: FileView, code: str, message: str) -> None:
        self.failures[view.file_id] = (code, message)
        if self._display is not None:
            self._display.finish(view.file_id, False, f"FAILED {code}")
        elif self._mode == "json":
            self._json(event="failed", file=self.label(view), code=code, message=message)

    def close_display(self) -> None:
        if self._display is not None:
            self._display.close()

    # -- the end -------------------------------------------------------------------------

    def finish(self, views: Sequence[FileView], *, interrupted: bool = False) -> bool:
        """Stop the display, then report each file and (if ``interrupted``) the notice.
        True when every file succeeded."""
        self.close_display()
        all_ok = True
        for view in views:
            label = self.label(view)
            if view.state is FileState.SUCCESS:
                self._result(view, label)
                continue
            all_ok = False
            if view.state is FileState.FAILURE:
                code, message = self.failures.get(view.file_id, (view.state.value, ""))
                if view.error is not None:
                    code, message = view.error.code, view.error.message
                self._err.write(
                    f"vodref: {label}: upload failed: {code}{': ' + message if message else ''}\n"
                )
                if self._mode == "json":
                    self._json(
                        event="result", file=label, status="failed", code=code, message=message
                    )
            elif self._mode == "json":
                self._json(event="result", file=label, status=view.state.value)
        if interrupted:
            self._err.write(INTERRUPT_NOTICE + "\n")
        self._out.flush()
        self._err.flush()
        return all_ok

    def earlier(self, label: str, *, video_id: str | None, image_url: str | None) -> None:
        """A file this command uploaded before: reported as a result, not uploaded again."""
        self._err.write(
            f"vodref: {label}: already uploaded ({video_id or image_url}); "
            "--upload-again uploads it again\n"
        )
        self._write_result(label, video_id=video_id, image_url=image_url, status="existing")

    def _result(self, view: FileView, label: str) -> None:
        self._write_result(
            label, video_id=view.video_id, image_url=view.image_url, status="succeeded"
        )

    def _write_result(
        self, label: str, *, video_id: str | None, image_url: str | None, status: str
    ) -> None:
        if self._mode == "json":
            self._json(
                event="result", file=label, status=status, video_id=video_id, image_url=image_url
            )
        elif image_url:
            self._out.write(f"{label}\tImageURL: {image_url}\n")
        else:
            self._out.write(f"{label}\tVideoId: {video_id}\n")
