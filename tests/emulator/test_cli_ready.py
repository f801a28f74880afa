"""The command line's machine-readable ready signal and console request log, on a real
subprocess. Requirements: specs/emulator-oss.md §7 (EMU-OSS-081, EMU-OSS-082)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import oss2
import requests

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=30)


def test_ready_file_and_json_line(tmp_path: Path) -> None:
    """EMU-OSS-081: --ready-file is complete when the first line is out; --json-ready
    makes that first line the same JSON document; neither holds a secret."""
    ready = tmp_path / "ready.json"
    process = _start("--ready-file", str(ready), "--json-ready")
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        from_file = json.loads(ready.read_text(encoding="utf-8"))
        assert first == from_file
        assert first["event"] == "ready" and first["pid"] == process.pid
        assert first["url"] == f"http://127.0.0.1:{first['port']}"
        assert DEFAULT_ACCESS_KEY_SECRET not in json.dumps(first)
        assert process.stdout.readline().startswith("vodref-emulator listening on ")
    finally:
        _stop(process)


def test_log_requests_prints_redacted_lines() -> None:
    """EMU-OSS-082: one stderr line per request, signatures and key ids redacted."""
    process = _start("--log-requests")
    try:
        assert process.stdout is not None and process.stderr is not None
        url = process.stdout.readline().split()[-1]
        bucket = oss2.Bucket(
            oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET), url, "logged"
        )
        bucket.create_bucket()
        signed = bucket.sign_url("GET", "missing.txt", 60)
        with requests.Session() as session:
            session.trust_env = False
            session.get(signed, timeout=10)
        bucket.session.session.close()
        first = process.stderr.readline()
        second = process.stderr.readline()
    finally:
        _stop(process)
    assert first.startswith("200 PUT /logged") and "[oss PutBucket]" in first
    assert second.startswith("404 GET /logged/missing.txt?")
    assert "Signature=REDACTED" in second and "OSSAccessKeyId=REDACTED" in second
    assert DEFAULT_ACCESS_KEY_ID not in first + second
