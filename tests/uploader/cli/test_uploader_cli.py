"""The ``vodref`` command line, run as a real process: SIGKILL at about half and a re-run
(same VideoId, at most parallel x part_size + one part sent again, object CRC-64 equal), with
an external emulator and with the embedded one; Ctrl-C; exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.uploader import (
    MIN_PART,
    assume_role,
    file_crc,
    isolated_env,
    open_uploads,
    operations,
    upload_part_requests,
    write_file,
)

from emulator.faults import Effect, Match
from vodref.core import Credentials, ObjectTarget

PARTS = 30
PARALLEL = 2
CLI = [sys.executable, "-m", "vodref.cli"]


def _env(tmp_path: Path, emu: Any | None = None, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path)
    if emu is not None:
        env["VODREF_VOD_ENDPOINT"] = emu.url
        env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emu.access_key_id
        env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emu.access_key_secret
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _upload_args(path: Path, *more: str) -> list[str]:
    return [
        "upload",
        str(path),
        "--part-size",
        "100KiB",
        "--parallel",
        str(PARALLEL),
        "--progress",
        "json",
        *more,
    ]


def _kill_at_half(args: list[str], env: dict[str, str], total: int) -> list[dict[str, Any]]:
    """Run the CLI, SIGKILL it once half the bytes are acknowledged; its JSON events."""
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    events: list[dict[str, Any]] = []
    assert process.stdout is not None
    for line in process.stdout:
        if not line.startswith("{"):
            continue
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and events[-1]["bytes"] >= total // 2:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=30)
    process.stdout.close()
    assert process.returncode == -signal.SIGKILL, "the upload ended before half"
    return events


def _result_video_id(stdout: str) -> str:
    """The one VideoId the run printed: its ``result`` record with ``--progress json``
    (stdout is then JSON only), else its ``FILE<TAB>VideoId: ID`` line."""
    if stdout.startswith("{"):
        records = [json.loads(line) for line in stdout.splitlines()]
        [result] = [r for r in records if r["event"] == "result"]
        assert result["status"] == "succeeded"
        return str(result["video_id"])
    [line] = [line for line in stdout.splitlines() if "\tVideoId: " in line]
    return line.split("VideoId: ")[1].strip()


def test_sigkill_at_half_then_rerun_resumes(emu: Any, root_transport: Any, tmp_path: Path) -> None:
    """UPL-CLI-001 UPL-CLI-004 UP-RESUME-002 UP-RESUME-003: same VideoId, one multipart
    upload, re-sent bytes <= parallel x part_size + one part, object CRC-64 equal."""
    emu.control.add_fault(effect=Effect.delay(0.1), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "movie.mp4", PARTS * MIN_PART - 999)
    env = _env(tmp_path, emu)
    events = _kill_at_half(_upload_args(path), env, path.stat().st_size)
    video_id = events[-1]["video_id"]
    assert video_id
    rerun = _run([*_upload_args(path)], env)
    assert rerun.returncode == 0, rerun.stderr
    assert _result_video_id(rerun.stdout) == video_id
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("InitiateMultipartUpload") == 1
    sent = [r for r in upload_part_requests(emu) if r["status"] == 200]
    resent_parts = len(sent) - PARTS
    assert resent_parts * MIN_PART <= PARALLEL * MIN_PART + MIN_PART
    [video] = [v for v in emu.control.state()["vod"]["videos"] if v["video_id"] == video_id]
    target = ObjectTarget(endpoint=emu.url, bucket=video["bucket"], key=video["object_key"])
    root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    info = root_transport.head_object(target, root)
    assert info is not None
    assert (info.size, info.crc64) == (path.stat().st_size, file_crc(path))
    assert open_uploads(emu) == []


def test_embedded_emulator_sigkill_and_rerun(tmp_path: Path) -> None:
    """UPL-CLI-002 UPL-CLI-004: no endpoint: the embedded emulator keeps its state in the
    user data directory, so a re-run after SIGKILL resumes the same video and keeps the
    parts acknowledged before the kill (minus at most parallel + 1)."""
    slow = json.dumps(
        [{"match": {"operation": "UploadPart"}, "effect": {"type": "delay", "seconds": 0.1}}]
    )
    env = _env(tmp_path, VODREF_EMULATOR_FAULTS=slow)
    path = write_file(tmp_path, "home-video.mp4", PARTS * MIN_PART)
    events = _kill_at_half(_upload_args(path), env, path.stat().st_size)
    seen = events[-1]["bytes"]
    rerun = _run([*_upload_args(path)], env)
    assert rerun.returncode == 0, rerun.stderr
    assert "embedded emulator" in rerun.stderr
    assert _result_video_id(rerun.stdout) == events[-1]["video_id"]
    progress = [json.loads(x) for x in rerun.stdout.splitlines() if x.startswith("{")]
    kept = next(e["bytes"] for e in progress if e["event"] == "progress")
    assert kept >= seen - (PARALLEL + 1) * MIN_PART
    assert (tmp_path / "xdg-data" / "vodref" / "emulator").is_dir()


def test_ctrl_c_stops_cleanly_and_rerun_finishes(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-005: SIGINT: exit 130 with a message, checkpoint kept, re-run completes the
    same video."""
    # Slow enough that the upload cannot finish between the progress line the test reads
    # and the SIGINT it sends, even on a loaded 2-core CI machine.
    emu.control.add_fault(effect=Effect.delay(0.25), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "interrupted.mp4", PARTS * MIN_PART)
    env = _env(tmp_path, emu)
    process = subprocess.Popen(
        [*CLI, *_upload_args(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "progress" and event["bytes"] >= 3 * MIN_PART:
            process.send_signal(signal.SIGINT)
            break
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list((tmp_path / "xdg-cache" / "vodref" / "checkpoints").glob("*.json"))
    emu.control.clear_faults()
    rerun = _run([*_upload_args(path)], env)
    assert rerun.returncode == 0, rerun.stderr
    assert operations(emu).count("CreateUploadVideo") == 1


def test_exit_codes_and_messages(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-006 UPL-CLI-007: a failed upload exits 1 with the service code; bad input
    exits 2 before anything starts; an endpoint without credentials is a usage error."""
    emu.control.add_fault(
        effect=Effect.error(403, "AccessDenied", "no"), match=Match(operation="PutObject")
    )
    small = write_file(tmp_path, "small.mp4", 1000)
    env = _env(tmp_path, emu)
    failed = _run(["upload", str(small), "--progress", "none"], env)
    assert failed.returncode == 1
    assert "small.mp4: upload failed: AccessDenied" in failed.stderr
    missing = _run(["upload", str(tmp_path / "nope.mp4")], env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    tiny_parts = _run(["upload", str(small), "--part-size", "10KiB"], env)
    assert tiny_parts.returncode == 2 and "--part-size" in tiny_parts.stderr
    no_credentials = _env(tmp_path, VODREF_VOD_ENDPOINT=emu.url)
    refused = _run(["upload", str(small)], no_credentials)
    assert refused.returncode == 2 and "credentials" in refused.stderr


def test_demo_and_emulator_commands(tmp_path: Path) -> None:
    """UPL-CLI-002 UPL-CLI-003 UPL-CLI-008: ``vodref demo`` works on a fresh machine (no
    configuration) and prints a VideoId; ``vodref emulator --help`` delegates."""
    env = _env(tmp_path)
    demo = _run(["demo", "--size", "300KiB", "--progress", "lines"], env)
    assert demo.returncode == 0, demo.stderr
    assert _result_video_id(demo.stdout)
    assert "100.0%" in demo.stderr
    help_text = _run(["emulator", "--help"], env)
    assert help_text.returncode == 0 and "--data-dir" in help_text.stdout


def test_sts_credentials_from_the_environment(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-001 UPL-API-006: with ALIBABA_CLOUD_SECURITY_TOKEN set the CLI runs in STS
    mode: it calls CreateUploadVideo itself, signed with the temporary credentials."""
    sts = assume_role(emu)
    env = _env(
        tmp_path,
        VODREF_VOD_ENDPOINT=emu.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID=sts["AccessKeyId"],
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=sts["AccessKeySecret"],
        ALIBABA_CLOUD_SECURITY_TOKEN=sts["SecurityToken"],
    )
    path = write_file(tmp_path, "sts-cli.mp4", 2 * MIN_PART)
    result = _run(["upload", str(path), "--title", "From STS", "--progress", "none"], env)
    assert result.returncode == 0, result.stderr
    video_id = _result_video_id(result.stdout)
    [video] = [v for v in emu.control.state()["vod"]["videos"] if v["video_id"] == video_id]
    assert video["title"] == "From STS"
    assert "CreateUploadVideo" in operations(emu)
