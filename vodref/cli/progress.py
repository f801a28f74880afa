"""Progress output for the CLI: bars on a terminal, plain lines elsewhere.

On a terminal :class:`~vodref.cli.bars.TerminalBars` draws the bars with ``rich``; it lives
in its own module, imported only when bars are drawn, so ``--progress json`` and ``lines``
never pay for importing rich (a resumed upload's first part waits for the imports:
bench/bench_resume.py).

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

__all__ = ["Display", "LineLog", "format_bytes", "format_duration"]

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
