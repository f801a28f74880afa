"""The command line: ``python -m emulator`` / ``vodref-emulator`` as a real subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import oss2
import pytest

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET

FIRST_LINE = re.compile(r"^vodref-emulator listening on (http://127\.0\.0\.1:(\d+))$")


@contextmanager
def emulator_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Start the emulator, yield (process, url, banner lines); kill it if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().rstrip("\n")
        match = FIRST_LINE.match(first)
        if not match:
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"unexpected first line {first!r}; stderr: {errors}")
        banner = [first]
        for _ in range(8):
            banner.append(process.stdout.readline().rstrip("\n"))
        yield process, match.group(1), banner
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def bucket_at(
    url: str, key_id: str = DEFAULT_ACCESS_KEY_ID, secret: str = DEFAULT_ACCESS_KEY_SECRET
) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(key_id, secret), url, "cli-bucket")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_runs_until_signalled(stop_signal: signal.Signals) -> None:
    """EMU-CLI-001: prints exactly the listening line first, then credentials and
    endpoints; serves OSS; exits 0 on SIGTERM and SIGINT."""
    with emulator_process("--in-memory") as (process, url, banner):
        assert any(DEFAULT_ACCESS_KEY_ID in line for line in banner)
        assert any(DEFAULT_ACCESS_KEY_SECRET in line for line in banner)
        assert any("cn-shanghai" in line for line in banner)
        assert any("/_emulator/" in line for line in banner)
        bucket = bucket_at(url)
        try:
            bucket.create_bucket()
            bucket.put_object("k", b"cli")
            assert bucket.get_object("k").read() == b"cli"
        finally:
            bucket.session.session.close()
        process.send_signal(stop_signal)
        assert process.wait(timeout=15) == 0
        assert process.stdout is not None
        assert "stopped" in process.stdout.read()


def test_options_and_data_dir_survive_sigkill(tmp_path: Path) -> None:
    """EMU-CLI-001 EMU-CLI-002: custom credentials and region are honoured; with
    --data-dir an answered write survives SIGKILL (objects, open uploads and parts)."""
    data_dir = tmp_path / "state"
    options = [
        "--data-dir",
        str(data_dir),
        "--access-key-id",
        "LTAIcustom",
        "--access-key-secret",
        "custom-secret",
        "--region",
        "cn-beijing",
    ]
    with emulator_process(*options) as (process, url, banner):
        assert any("cn-beijing" in line for line in banner)
        bucket = bucket_at(url, "LTAIcustom", "custom-secret")
        try:
            bucket.create_bucket()
            bucket.put_object("kept.txt", b"durable")
            upload_id = bucket.init_multipart_upload("open.bin").upload_id
            bucket.upload_part("open.bin", upload_id, 1, b"part-one")
            assert bucket.get_bucket_location().location == "oss-cn-beijing"
        finally:
            bucket.session.session.close()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with emulator_process(*options) as (process, url, _):
        bucket = bucket_at(url, "LTAIcustom", "custom-secret")
        wrong = bucket_at(url)
        try:
            assert bucket.get_object("kept.txt").read() == b"durable"
            parts = bucket.list_parts("open.bin", upload_id).parts
            assert [(p.part_number, p.size) for p in parts] == [(1, 8)]
            with pytest.raises(oss2.exceptions.ServerError) as excinfo:
                wrong.get_object("kept.txt")
            assert excinfo.value.code == "InvalidAccessKeyId"
        finally:
            bucket.session.session.close()
            wrong.session.session.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_bad_arguments_and_help() -> None:
    """EMU-CLI-001: --data-dir and --in-memory are exclusive; --help documents defaults."""
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--in-memory", "--data-dir", "x"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    help_text = subprocess.run(
        [sys.executable, "-m", "emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    for option in (
        "--host",
        "--port",
        "--data-dir",
        "--in-memory",
        "--access-key-id",
        "--access-key-secret",
        "--region",
        DEFAULT_ACCESS_KEY_ID,
        "cn-shanghai",
    ):
        assert option in help_text


def test_bench_script_runs_small() -> None:
    """EMU-OSS-080: bench/bench_emulator.py runs end to end (tiny size) and prints the
    floor, MiB/s, server CPU-s/GiB and the ratio to the floor for both storage modes with
    their targets, moto's ingest and the ratio (the same client for both, and each SDK),
    and the load average at start and end."""
    script = Path(__file__).resolve().parents[2] / "bench" / "bench_emulator.py"
    command = [sys.executable, str(script), "--size-mib", "4", "--threads", "2", "--rounds", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert any(line.startswith("floor, MD5 + CRC-64") for line in lines)
    assert any(line.startswith("in-memory:") and "(target <= 1.4x)" in line for line in lines)
    assert any(line.startswith("data-dir:") and "(target <= 2x)" in line for line in lines)
    assert any(line.startswith("moto:") and "MiB/s" in line for line in lines)
    assert any(line.startswith("moto-urllib3:") and "MiB/s" in line for line in lines)
    for label in ("same client, urllib3", "each SDK, oss2 vs boto3"):
        assert any(line.startswith(f"emulator vs moto ingest ({label}):") for line in lines)
    assert lines[0].startswith("load average at start: ")
    assert lines[-1].startswith("load average at end: ")
