"""Progress output for the CLI: bars on a terminal, plain lines elsewhere.

The bars are drawn by ``rich`` (a well-kept library made for exactly this: it measures the
terminal, redraws a live block in place, honours ``NO_COLOR`` and ``TERM=dumb``, and lets
other output scroll above the block), not by hand-written ANSI. The columns shown depend on
the terminal's width, so a narrow terminal gets fewer columns, never a wrapped, garbled
block. A file waiting for its turn says ``queued``.

Anywhere else (a pipe, a CI log, ``TERM=dumb``) :class:`LineLog` prints a plain line per
file at most every few seconds and when it ends, so logs stay readable and carry no escape
codes.

Both implement :class:`Display`. After :meth:`Display.close` nothing is drawn again, so a
message printed afterwards (the Ctrl-C notice, the results) stays the last thing on screen.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TextIO

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

__all__ = [
    "Display",
    "LineLog",
    "TerminalBars",
    "format_bytes",
    "format_duration",
    "terminal_console",
]

QUEUED, UPLOADING, DONE, FAILED = "queued", "uploading", "done", "failed"


def format_bytes(count: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value = float(count)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or seconds < 0 or math.isinf(seconds):
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Display(Protocol):
    """What the CLI's reporter drives. Keys are the uploader's file ids."""

    def add(self, key: str, label: str, total: int) -> None: ...

    def start(self, key: str) -> None: ...

    def update(self, key: str, done: int) -> None: ...

    def finish(self, key: str, ok: bool, note: str) -> None: ...

    def close(self) -> None: ...


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


@dataclass(slots=True)
class _Line:
    label: str
    total: int
    done: int = 0
    state: str = QUEUED
    note: str = ""
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None

    def speed(self) -> float | None:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return None
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0])


class LineLog:
    """A plain line per file when it starts, at most every ``interval`` seconds while it
    uploads, and when it ends. No escape codes."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 5.0,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._lines: dict[str, _Line] = {}
        self._last_print: dict[str, float] = {}
        self._closed = False

    def add(self, key: str, label: str, total: int) -> None:
        with self._lock:
            self._lines[key] = _Line(label=label, total=total)

    def start(self, key: str) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is not None and line.state == QUEUED:
                line.state = UPLOADING
                self._print(key, line)

    def update(self, key: str, done: int) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                return
            now = self._clock()
            line.state = UPLOADING
            line.done = max(line.done, done)
            line.first = line.first or (now, line.done)
            line.last = (now, line.done)
            if now - self._last_print.get(key, -math.inf) >= self._interval:
                self._print(key, line, now)

    def finish(self, key: str, ok: bool, note: str) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                return
            line.state, line.note = (DONE, "") if ok else (FAILED, note)
            if ok:
                line.done = line.total
            self._print(key, line)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def render(self, key: str) -> str:
        with self._lock:
            return self._render(self._lines[key])

    @staticmethod
    def _render(line: _Line) -> str:
        fraction = 1.0 if line.total <= 0 else min(1.0, line.done / line.total)
        if line.state == UPLOADING:
            speed = line.speed()
            if speed is None:
                tail = "starting"
            else:
                eta = (line.total - line.done) / speed if speed > 0 else None
                tail = f"{format_bytes(speed)}/s ETA {format_duration(eta)}"
        else:
            tail = line.note or line.state
        return (
            f"{line.label}  {fraction * 100:5.1f}%  "
            f"{format_bytes(line.done)}/{format_bytes(line.total)}  {tail}"
        )

    def _print(self, key: str, line: _Line, now: float | None = None) -> None:
        if self._closed:
            return
        self._last_print[key] = self._clock() if now is None else now
        self._stream.write(self._render(line) + "\n")
        self._stream.flush()
