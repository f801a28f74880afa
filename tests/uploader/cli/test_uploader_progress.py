"""The CLI's small pieces: size and age parsing, the plain progress lines and the rich bars
rendered off-screen (UPL-CLI-003). The bars in a real terminal: test_uploader_cli_pty.py."""

from __future__ import annotations

import argparse
import io

import pyte
import pytest
from rich.console import Console
from support.uploader import MIN_PART

from vodref.cli import parse_size
from vodref.cli.bars import TerminalBars
from vodref.cli.logs import redact
from vodref.cli.options import parse_age
from vodref.cli.progress import LineLog, format_bytes, format_duration


def test_small_helpers() -> None:
    """UPL-CLI-003: sizes, ages, durations."""
    assert parse_size("1MiB") == 1_048_576 and parse_size("100k") == 102_400
    assert parse_size("512") == 512 and parse_size("2M") == 2 * 1024**2
    assert parse_age("7d") == 7 * 86400 and parse_age("90s") == 90 and parse_age("1.5h") == 5400
    for bad in ("7", "d", "-1d", "1y"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_age(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="try 1MiB"):
        parse_size("1 parsec")
    assert format_bytes(1536) == "1.5 KiB" and format_duration(3725) == "1:02:05"
    assert format_duration(None) == "--:--" and format_duration(float("inf")) == "--:--"


def test_plain_lines_say_queued_starting_and_done() -> None:
    """UPL-CLI-003: a line per file when it starts, at most every interval while it runs,
    and when it ends; never backwards; no escape codes."""
    out = io.StringIO()
    ticks = iter(float(t) for t in range(100))
    log = LineLog(out, clock=lambda: next(ticks), interval=5.0)
    log.add("f", "d1/video.mp4", 1000)
    assert "queued" in log.render("f") and out.getvalue() == ""
    log.start("f")
    assert out.getvalue().splitlines()[-1].endswith("starting")
    log.update("f", 500)
    log.update("f", 400)  # never backwards
    assert "50.0%" in log.render("f") and "B/s ETA" in log.render("f")
    printed = len(out.getvalue().splitlines())
    log.update("f", 600)  # within the interval: not printed
    assert len(out.getvalue().splitlines()) == printed
    log.finish("f", True, "done")
    assert out.getvalue().splitlines()[-1].endswith("done")
    assert "100.0%" in log.render("f")
    assert "\x1b" not in out.getvalue()
    log.close()
    log.add("g", "late.mp4", 10)
    log.finish("g", False, "FAILED X")
    assert "late.mp4" not in out.getvalue()  # nothing after close


@pytest.mark.parametrize("width", [40, 50, 79, 120])
def test_bars_fit_the_width_and_show_queued(width: int) -> None:
    """UPL-CLI-003: every file's bar fits on one line of the terminal's width; a waiting
    file says queued, not 0 B/s; a failed one says FAILED CODE."""
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    bars = TerminalBars(console)
    bars.add("a", "a-very-long-directory-name/first-file.mp4", 4 * MIN_PART)
    bars.add("b", "d2/second.mp4", MIN_PART)
    bars.add("c", "d3/third.mp4", MIN_PART)
    bars.start("a")
    bars.update("a", 2 * MIN_PART)
    bars.finish("c", False, "FAILED AccessDenied")
    bars.close()
    bars.update("a", 3 * MIN_PART)  # after close: ignored
    screen = pyte.Screen(width, 12)
    pyte.Stream(screen).feed(out.getvalue().replace("\n", "\r\n"))
    final = [line for line in screen.display if "%" in line]
    assert len(final) == 3, screen.display  # one line each: nothing wrapped or left over
    assert "50.0%" in final[0]
    assert "queued" in final[1] and "B/s" not in final[1]
    assert "FAILED" in final[2]


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("GET /?AccessKeyId=LTAIx&Signature=abc%3D&SignatureMethod=HMAC-SHA1", "SignatureMethod"),
        (r"b'PUT\n\nFri\nx-oss-security-token:CAISabc_-1\n/b/k'", r"\n/b/k"),
        ("Init StsAuth: access_key_id: STS.13252d56, access_key_secret: ******", "StsAuth"),
        ('{"UploadAuth":"eyJBY2Nlc3NLZXlJZCI6==","VideoId":"v1"}', '"VideoId":"v1"'),
        ("headers: {'Authorization': 'OSS STS.abc:c2ln', 'Date': 'x'}", "'Date': 'x'"),
    ],
)
def test_log_lines_are_masked(line: str, kept: str) -> None:
    """UPL-CLI-015: every credential the SDKs put in their debug lines is masked; the rest
    of the line stays readable."""
    masked = redact(line, secrets=("LTAIx",))
    assert "***" in masked and kept in masked
    for secret in ("LTAIx", "abc%3D", "CAISabc", "STS.1325", "eyJBY2", "STS.abc", "c2ln"):
        assert secret not in masked, masked
