"""The emulator in a child process for the benchmarks: its CPU is then measured apart from the
client's, and it answers on a loopback port of its choosing (127.0.0.1, port 0)."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["start_emulator"]


def start_emulator(*, log_requests: bool = False) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m emulator --in-memory`` and return the process and its URL.

    ``log_requests``: the emulator writes one line per answered request to its stderr
    (``--log-requests``; redacted), which the caller must read from ``process.stderr``: a
    stream that, unlike the control plane's bounded request log, misses nothing."""
    command = [sys.executable, "-m", "emulator", "--in-memory", "--port", "0"]
    if log_requests:
        command.append("--log-requests")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if log_requests else subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    prefix = "vodref-emulator listening on "
    if not first.startswith(prefix):
        process.kill()
        raise SystemExit(f"emulator did not start: {first!r}")
    return process, first[len(prefix) :]
