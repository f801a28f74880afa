"""The CLI's small pieces: size parsing and the progress board (UPL-CLI-003)."""

from __future__ import annotations

import io

from support.uploader import MIN_PART

from vodref.cli import parse_size
from vodref.cli.progress import ProgressBoard, format_bytes, format_duration


def test_small_helpers() -> None:
    """UPL-CLI-003: sizes, durations, bars."""
    assert parse_size("1MiB") == 1_048_576 and parse_size("100k") == 102_400
    assert parse_size("512") == 512
    assert format_bytes(1536) == "1.5 KiB" and format_duration(3725) == "1:02:05"
    assert format_duration(None) == "--:--"
    out = io.StringIO()
    board = ProgressBoard(out, interactive=False, clock=iter(range(100)).__next__)
    board.add("f", "video.mp4", 1000)
    board.update("f", 500)
    board.update("f", 400)  # never backwards on screen
    assert "50.0%" in board.render_line("f")
    board.finish("f", "done")
    assert "100.0%" in board.render_line("f")
    assert "done" in out.getvalue()


def test_progress_bars_redraw_in_place_on_a_terminal() -> None:
    """UPL-CLI-003: on a terminal the block of bars is redrawn with cursor-up, one line per
    file, with bytes, percentage, speed and ETA."""
    out = io.StringIO()
    ticks = iter([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    board = ProgressBoard(out, interactive=True, clock=lambda: next(ticks), min_interval=0.0)
    board.add("a", "first.mp4", 4 * MIN_PART)
    board.add("b", "second.mp4", MIN_PART)
    board.update("a", MIN_PART)
    board.update("a", 2 * MIN_PART)
    line = board.render_line("a")
    assert "50.0%" in line and "KiB/s" in line and "ETA 00:0" in line
    assert "\x1b[2F" in out.getvalue()  # moved up over both lines to redraw them
    board.finish("b", "FAILED AccessDenied")
    assert "FAILED AccessDenied" in board.render_line("b")
    board.close()
