"""Terminal progress bars for the CLI: one line per file with bytes, speed and ETA.

Standard library only. On a terminal the block of lines is redrawn in place (ANSI cursor
up); elsewhere (pipes, CI logs) a line is printed per file at most every few seconds and at
the end, so logs stay readable.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["ProgressBoard", "format_bytes", "format_duration"]

_BAR_WIDTH = 24
_SPEED_WINDOW = 5.0


def format_bytes(count: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value = float(count)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "--:--"
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(slots=True)
class _Line:
    label: str
    total: int
    done: int = 0
    status: str = ""
    samples: list[tuple[float, int]] = field(default_factory=list)

    def speed(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None


class ProgressBoard:
    def __init__(
        self,
        stream: TextIO,
        *,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_interval: float = 0.1,
        log_interval: float = 5.0,
    ) -> None:
        self._stream = stream
        self._interactive = stream.isatty() if interactive is None else interactive
        self._clock = clock
        self._min_interval = min_interval
        self._log_interval = log_interval
        self._lock = threading.Lock()
        self._lines: dict[str, _Line] = {}
        self._drawn = 0
        self._last_draw = 0.0

    def add(self, key: str, label: str, total: int) -> None:
        with self._lock:
            self._lines[key] = _Line(label=label, total=total)
            self._draw(force=True, changed=key)

    def update(self, key: str, done: int) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                return
            line.done = max(line.done, done)  # progress never goes backwards on screen
            now = self._clock()
            line.samples.append((now, line.done))
            while line.samples and now - line.samples[0][0] > _SPEED_WINDOW:
                line.samples.pop(0)
            self._draw(force=False, changed=key)

    def finish(self, key: str, status: str) -> None:
        with self._lock:
            line = self._lines.get(key)
            if line is None:
                return
            line.status = status
            if status == "done":
                line.done = line.total
            self._draw(force=True, changed=key)

    def close(self) -> None:
        with self._lock:
            if self._interactive:
                self._draw(force=True)

    def render_line(self, key: str) -> str:
        with self._lock:
            return self._render(self._lines[key])

    def _render(self, line: _Line) -> str:
        total = max(line.total, 0)
        fraction = 1.0 if total == 0 else min(1.0, line.done / total)
        filled = int(fraction * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        speed = line.speed()
        eta = (total - line.done) / speed if speed and speed > 0 else None
        label = line.label if len(line.label) <= 28 else line.label[:25] + "..."
        tail = line.status or f"{format_bytes(speed or 0)}/s ETA {format_duration(eta)}"
        return (
            f"{label:<28} [{bar}] {fraction * 100:5.1f}% "
            f"{format_bytes(line.done)}/{format_bytes(total)} {tail}"
        )

    def _draw(self, *, force: bool, changed: str | None = None) -> None:
        now = self._clock()
        interval = self._min_interval if self._interactive else self._log_interval
        if not force and now - self._last_draw < interval:
            return
        self._last_draw = now
        if self._interactive:
            rendered = [self._render(line) for line in self._lines.values()]
            if self._drawn:
                self._stream.write(f"\x1b[{self._drawn}F")
            for text in rendered:
                self._stream.write("\x1b[2K" + text + "\n")
            self._drawn = len(rendered)
        elif changed is not None:
            # A log gets only the line that changed, never the whole block again.
            self._stream.write(self._render(self._lines[changed]) + "\n")
        self._stream.flush()
