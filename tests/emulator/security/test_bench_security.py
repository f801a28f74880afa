"""bench/bench_security.py runs end to end, small (EMU-SEC-014): every figure is printed
and the hardened emulator refuses every auth probe and never leaves a probe unanswered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "bench_security.py"


def test_bench_security_runs_small() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--fuzz", "30", "--connections", "60", "--nofile", "96"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = {line[:42].strip(): line[42:].strip() for line in result.stdout.splitlines()}
    refused, tried = lines["auth probes refused/tried"].split("/")
    assert refused == tried and int(tried) > 0
    assert "None" not in lines["edge probes by status"]
    assert "None" not in lines["fuzz counts by status"]
    held, busy, silent = (
        int(part) for part in lines["connections held / 503 / no answer"].split(" / ")
    )
    assert (held + busy, silent) == (60, 0) and busy > 0
    assert lines["new client served afterwards"] == "True"
