"""The progress display in a real pseudo-terminal (pexpect), rendered by a terminal
emulator (pyte) and asserted as a person would see it: at 50 and 120 columns every file
keeps one line of its own, waiting files say ``queued``, and after Ctrl-C the interrupt
notice is the last thing on screen. NO_COLOR and TERM=dumb are honoured."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pyte
import pytest
from support.uploader import MIN_PART, isolated_env, write_file

from vodref.cli.report import INTERRUPT_NOTICE

ROWS = 30
FILES = ("d1/a.mp4", "d2/a.mp4", "d3/third.mp4")
# Slow parts down so the run is still going when the test presses Ctrl-C.
SLOW_PARTS = json.dumps(
    [{"match": {"operation": "UploadPart"}, "effect": {"type": "delay", "seconds": 0.2}}]
)


def _files(tmp_path: Path) -> None:
    for seed, name in enumerate(FILES, start=1):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_file(tmp_path / Path(name).parent, Path(name).name, 20 * MIN_PART, seed=seed)


def _run_in_terminal(
    tmp_path: Path, columns: int, *, interrupt: bool, **env_extra: str
) -> tuple[str, int]:
    """Run ``vodref upload`` in a pty of ``columns`` x ROWS; press Ctrl-C once a speed is
    shown (if ``interrupt``); return everything the terminal received and the exit status."""
    _files(tmp_path)
    env = isolated_env(tmp_path)
    for name in ("COLUMNS", "LINES", "NO_COLOR"):
        env.pop(name, None)
    env.update({"TERM": "xterm-256color", "VODREF_EMULATOR_FAULTS": SLOW_PARTS, **env_extra})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "vodref.cli", "upload", *FILES, "--part-size", "100KiB", "--parallel", "2"],
        cwd=str(tmp_path),
        env=env,
        dimensions=(ROWS, columns),
        encoding="utf-8",
        codec_errors="replace",
        timeout=120,
    )
    if interrupt:
        child.expect(r"[KM]iB/s")
        child.sendintr()
    child.expect(pexpect.EOF)
    received = str(child.before)
    child.close()
    return received, int(child.exitstatus if child.exitstatus is not None else -1)


def _screen(received: str, columns: int) -> list[str]:
    screen = pyte.Screen(columns, ROWS)
    pyte.Stream(screen).feed(received)
    return [line.rstrip() for line in screen.display]


@pytest.mark.parametrize("columns", [50, 120])
def test_bars_fit_and_the_interrupt_notice_stays_visible(tmp_path: Path, columns: int) -> None:
    """UPL-CLI-013 UPL-CLI-005: one line per file at this width, queued files say so, and
    the notice printed after Ctrl-C is not painted over by a last redraw."""
    received, status = _run_in_terminal(tmp_path, columns, interrupt=True)
    assert status == 130
    rows = _screen(received, columns)
    text = "\n".join(rows)
    bar_rows = [row for row in rows if "%" in row]
    assert len(bar_rows) == len(FILES), text  # nothing wrapped, nothing left from a redraw
    for name, row in zip(FILES, bar_rows, strict=True):
        assert row.startswith(name), text
        assert text.count(name) == 1, text
        assert len(row) <= columns
    assert "queued" in bar_rows[-1] and "B/s" not in bar_rows[-1], text
    assert "B/s" in bar_rows[0], text  # the first file was uploading
    # The notice is the last thing on screen (wrapped at 50 columns): join the rows after
    # the last bar.
    last_bar = max(i for i, row in enumerate(rows) if "%" in row)
    after = " ".join(row.strip() for row in rows[last_bar + 1 :] if row.strip())
    assert after == INTERRUPT_NOTICE, text
    assert "Traceback" not in received


def test_no_color_keeps_the_bars_without_colours(tmp_path: Path) -> None:
    """UPL-CLI-013: NO_COLOR: bars still drawn in place, no colour codes sent."""
    (tmp_path / "coloured").mkdir()
    (tmp_path / "plain").mkdir()
    coloured, _ = _run_in_terminal(tmp_path / "coloured", 80, interrupt=True)
    plain, status = _run_in_terminal(tmp_path / "plain", 80, interrupt=True, NO_COLOR="1")
    assert status == 130
    assert "\x1b[38;" in coloured  # the control: colours are sent without NO_COLOR
    assert "\x1b[38;" not in plain and "\x1b[1A" in plain  # redrawn in place, no colour
    rows = _screen(plain, 80)
    assert len([row for row in rows if "%" in row]) == len(FILES)


def test_dumb_terminal_gets_plain_lines(tmp_path: Path) -> None:
    """UPL-CLI-013: TERM=dumb: no bars, no cursor movement, a plain line per change."""
    received, status = _run_in_terminal(tmp_path, 80, interrupt=False, TERM="dumb")
    assert status == 0
    assert "\x1b[" not in received
    for name in FILES:
        assert f"{name}  100.0%" in received
        assert f"{name}\tVideoId: " in received
