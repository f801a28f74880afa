"""Two ``vodref upload`` runs on the same embedded-emulator data directory, as real
processes: the second waits for the first, says for whom, and both finish cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from support.cli import CLI
from support.uploader import MIN_PART, isolated_env, write_file

JSON = ("--progress", "json")


def test_a_second_upload_waits_for_the_first(tmp_path: Path) -> None:
    """UPL-CLI-014: the first run holds the directory (it is stopped with SIGSTOP while the
    second starts, so the order is certain); the second says it waits for that process,
    then runs once the first is done; no traceback, no emulator output in either."""
    env = isolated_env(tmp_path)
    first_file = write_file(tmp_path, "first.mp4", 6 * MIN_PART, seed=1)
    second_file = write_file(tmp_path, "second.mp4", 3 * MIN_PART, seed=2)
    first = subprocess.Popen(
        [*CLI, "upload", str(first_file), "--part-size", "100KiB", "--parallel", "1", *JSON],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert first.stdout is not None
    seen = []
    for line in first.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] in ("progress", "result"):
            break
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = subprocess.Popen(
            [*CLI, "upload", str(second_file), "--progress", "none"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert second.stderr is not None
        waiting = second.stderr.readline()
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert f"in use by process {first.pid}; waiting" in waiting, waiting
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    records = seen + [json.loads(line) for line in first_out.splitlines()]
    [first_result] = [r for r in records if r["event"] == "result"]
    assert first_result["status"] == "succeeded"
    [second_line] = [line for line in second_out.splitlines() if "\tVideoId: " in line]
    assert second_line.split("VideoId: ")[1] != first_result["video_id"]
    for text in (first_err, waiting + second_err):
        assert "Traceback" not in text and "emulator." not in text, text
