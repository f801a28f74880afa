"""Progress bars for the CLI on a terminal, drawn by ``rich``.

``rich`` is a well-kept library made for exactly this: it measures the terminal, redraws a
live block in place, honours ``NO_COLOR`` and ``TERM=dumb``, and lets other output scroll
above the block; no hand-written ANSI. The columns shown depend on the terminal's width, so
a narrow terminal gets fewer columns, never a wrapped, garbled block. A file waiting for its
turn says ``queued``. Imported only when bars may be drawn (:mod:`vodref.cli.report`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.progress_bar import ProgressBar
from rich.table import Column
from rich.text import Text

from .progress import DONE, FAILED, QUEUED, UPLOADING, format_bytes, format_duration

__all__ = ["TerminalBars", "terminal_console"]


def terminal_console(stream: TextIO) -> Console:
    """A rich console on ``stream``; rich reads NO_COLOR, TERM and the terminal's width."""
    return Console(file=stream, highlight=False, soft_wrap=False)


class _StateColumn(ProgressColumn):
    """``queued``, speed and time left while uploading, ``done`` or ``FAILED CODE``."""

    def __init__(self, *, with_eta: bool) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis"))
        self._with_eta = with_eta

    def render(self, task: Task) -> Text:
        state = task.fields.get("state", QUEUED)
        if state == QUEUED:
            return Text("queued", style="dim")
        if state == DONE:
            return Text("done", style="green")
        if state == FAILED:
            return Text(str(task.fields.get("note", "FAILED")), style="bold red")
        speed = task.speed
        if speed is None:
            return Text("starting")
        text = f"{format_bytes(speed)}/s"
        if self._with_eta:
            eta = task.time_remaining if speed else None
            text += f" {format_duration(eta)}"
        return Text(text)


class _BarColumn(BarColumn):
    """rich's bar, empty (not pulsing) while the file is queued."""

    def render(self, task: Task) -> ProgressBar:
        return ProgressBar(
            total=max(0.0, task.total or 0.0),
            completed=max(0.0, task.completed),
            width=None if self.bar_width is None else max(1, self.bar_width),
            pulse=False,
            style=self.style,
            complete_style=self.complete_style,
            finished_style=self.finished_style,
        )


class _PercentColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        fraction = 1.0 if not task.total else min(1.0, task.completed / task.total)
        return Text(f"{fraction * 100:5.1f}%")


def _columns(width: int) -> list[ProgressColumn]:
    """Fewer columns on a narrow terminal: every file stays on one line of its own."""
    name = TextColumn(
        "{task.description}",
        markup=False,
        table_column=Column(no_wrap=True, overflow="ellipsis", ratio=2, min_width=8),
    )
    bar_column = Column(ratio=3, min_width=5)
    if width >= 100:
        return [
            name,
            _BarColumn(bar_width=None, table_column=bar_column),
            _PercentColumn(),
            DownloadColumn(binary_units=True),
            _StateColumn(with_eta=True),
        ]
    if width >= 70:
        return [
            name,
            _BarColumn(bar_width=None, table_column=bar_column),
            _PercentColumn(),
            _StateColumn(with_eta=True),
        ]
    return [
        name,
        _BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=4)),
        _PercentColumn(),
        _StateColumn(with_eta=False),
    ]


class _ProgressWithSpareLine(Progress):
    """rich's Progress with an empty line under the bars, where the cursor rests. The
    terminal echoes ``^C`` at the cursor; on the spare line the next redraw erases it,
    whereas at the end of a full-width bar it would wrap and shift the block by a line."""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        yield Text("")


class TerminalBars:
    """One live bar per file, redrawn in place by rich (10 times a second at most)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = _ProgressWithSpareLine(
            *_columns(console.width),
            console=console,
            expand=True,
            refresh_per_second=10,
            speed_estimate_period=5.0,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._live = False

    def _go_live(self) -> None:
        """Start drawing once there is something to draw (called with the lock held): what
        was printed while files were added (a resume warning) stays above the block, and
        rich never measures an empty block."""
        if not self._live and self._tasks and not self._closed:
            self._live = True
            self._progress.start()

    def add(self, key: str, label: str, total: int) -> None:
        with self._lock:
            if not self._closed:
                self._tasks[key] = self._progress.add_task(
                    label, total=max(total, 1), start=False, state=QUEUED
                )

    def start(self, key: str) -> None:
        with self._lock:
            task = self._tasks.get(key)
            if task is not None and not self._closed:
                self._go_live()
                self._progress.start_task(task)
                self._progress.update(task, state=UPLOADING)

    def update(self, key: str, done: int) -> None:
        with self._lock:
            task = self._tasks.get(key)
            if task is None or self._closed:
                return
            self._go_live()
            # Task ids index .tasks: they count from 0 and no task is ever removed.
            current = self._progress.tasks[task].completed  # never backwards on screen
            self._progress.start_task(task)
            self._progress.update(task, completed=max(current, done), state=UPLOADING)

    def finish(self, key: str, ok: bool, note: str) -> None:
        with self._lock:
            task = self._tasks.get(key)
            if task is None or self._closed:
                return
            self._go_live()
            if ok:
                total = self._progress.tasks[task].total
                self._progress.update(task, completed=total, state=DONE)
            else:
                self._progress.update(task, state=FAILED, note=note)

    def close(self) -> None:
        """Draw the final state once and stop: nothing is drawn after this returns."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._live:
                    self._progress.stop()
