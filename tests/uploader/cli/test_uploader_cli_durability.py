"""Issue 14, durability: the ``vodref`` command as a real process against the emulator on a
real loopback socket. An early SIGKILL, a full checkpoint store, SIGTERM and Ctrl-C, bad
checkpoint bytes, a changed file and two runs at once must never lose a result, duplicate a
video or leave a multipart upload open."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.uploader import MIN_PART, isolated_env, open_uploads, operations, write_file

from emulator.faults import Effect, Match

CLI = [sys.executable, "-m", "vodref.cli"]
PARTS = 20
PARALLEL = 2


def _env(tmp_path: Path, emu: Any) -> dict[str, str]:
    env = isolated_env(tmp_path)
    env["VODREF_VOD_ENDPOINT"] = emu.url
    env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emu.access_key_id
    env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emu.access_key_secret
    return env


def _args(*paths: Path, more: tuple[str, ...] = ()) -> list[str]:
    return [
        "upload",
        *map(str, paths),
        "--part-size",
        "100KiB",
        "--parallel",
        str(PARALLEL),
        "--progress",
        "json",
        *more,
    ]


def _run(
    args: list[str], env: dict[str, str], preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        preexec_fn=preexec,
    )


def _signal_when(
    args: list[str], env: dict[str, str], sig: int, when: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], str, str, int]:
    """Run the CLI; send ``sig`` at the first JSON event ``when`` accepts. Returns the events
    seen, the rest of stdout, stderr and the exit status."""
    process = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    events: list[dict[str, Any]] = []
    for line in process.stdout:
        if line.startswith("{"):
            events.append(json.loads(line))
            if when(events[-1]):
                process.send_signal(sig)
                break
    rest, stderr = process.communicate(timeout=60)
    return events, rest, stderr, process.returncode


def _video_ids(stdout: str) -> dict[str, str]:
    """File name -> VideoId of every result: ``FILE<TAB>VideoId: ID`` lines, or with
    ``--progress json`` the result records (status "existing" for a file found uploaded
    before)."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record["event"] == "result" and record["status"] in ("succeeded", "existing"):
                found[Path(record["file"]).name] = record["video_id"]
        elif "\tVideoId: " in line:
            name, video = line.split("\tVideoId: ")
            found[Path(name.strip()).name] = video.strip()
    return found


def _checkpoint_dir(tmp_path: Path) -> Path:
    return tmp_path / "xdg-cache" / "vodref" / "checkpoints"


def _videos(emu: Any) -> list[dict[str, Any]]:
    return list(emu.control.state()["vod"]["videos"])


def test_sigkill_at_the_first_progress_event_leaves_one_video(emu: Any, tmp_path: Path) -> None:
    """UP-DUR-001 UP-DUR-002 UPL-DUR-001 UP-DEV-034: the VideoId and the upload id are
    durable before any OSS request that depends on them, so a SIGKILL right after Initiate
    (the first progress event) is resumed: one video, one multipart upload, nothing open."""
    emu.control.add_fault(effect=Effect.delay(0.2), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "early.mp4", PARTS * MIN_PART)
    env = _env(tmp_path, emu)
    events, _, _, status = _signal_when(
        _args(path), env, signal.SIGKILL, lambda e: e["event"] == "progress"
    )
    assert status == -signal.SIGKILL
    killed_video = events[-1]["video_id"]
    emu.control.clear_faults()
    rerun = _run(_args(path), env)
    assert rerun.returncode == 0, rerun.stderr
    assert _video_ids(rerun.stdout) == {"early.mp4": killed_video}
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("InitiateMultipartUpload") == 1
    assert len(_videos(emu)) == 1
    assert open_uploads(emu) == []


def _no_file_writes() -> None:
    # A checkpoint directory that is full: every write of a byte fails (EFBIG; Python
    # ignores SIGXFSZ), as ENOSPC would. Only the child's own files are affected.
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_full_checkpoint_store_reports_the_video_and_says_not_resumable(
    emu: Any, tmp_path: Path
) -> None:
    """UPL-DUR-002: a failing checkpoint store never hides a result: the finished upload's
    VideoId is printed, the exit status is 3 ("done, not resumable") and nothing is uploaded
    twice."""
    path = write_file(tmp_path, "full.mp4", 5 * MIN_PART)
    env = _env(tmp_path, emu)
    result = _run(_args(path, more=("--progress", "none")), env, preexec=_no_file_writes)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "not resumable" in result.stderr
    [video] = _videos(emu)
    assert _video_ids(result.stdout) == {"full.mp4": video["video_id"]}
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("CompleteMultipartUpload") == 1
    assert open_uploads(emu) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupt_prints_finished_files_and_a_rerun_reports_them(
    emu: Any, tmp_path: Path, sig: int
) -> None:
    """UPL-DUR-003 UPL-DUR-004 UP-DEV-037: on SIGTERM (exit 143) and Ctrl-C (exit 130)
    every finished file's VideoId is printed; re-running the same command reports it without
    uploading it again and resumes the unfinished one; ``--upload-again`` uploads it anew."""
    emu.control.add_fault(effect=Effect.delay(0.25), match=Match(operation="UploadPart"))
    first = write_file(tmp_path, "first.mp4", 1000, seed=1)
    second = write_file(tmp_path, "second.mp4", PARTS * MIN_PART, seed=2)
    env = _env(tmp_path, emu)
    events, rest, stderr, status = _signal_when(
        _args(first, second),
        env,
        sig,
        lambda e: (
            e["event"] == "progress" and Path(e["file"]).name == "second.mp4" and e["bytes"] > 0
        ),
    )
    assert status == (143 if sig == signal.SIGTERM else 130), stderr
    assert "Traceback" not in stderr
    [done] = [e for e in events if e["event"] == "succeeded"]
    assert _video_ids(rest) == {"first.mp4": done["video_id"]}
    emu.control.clear_faults()
    rerun = _run(_args(first, second), env)
    assert rerun.returncode == 0, rerun.stderr
    found = _video_ids(rerun.stdout)
    assert found["first.mp4"] == done["video_id"]
    assert "already uploaded" in rerun.stderr
    assert operations(emu).count("CreateUploadVideo") == 2
    assert operations(emu).count("PutObject") == 1
    again = _run(_args(first, more=("--upload-again",)), env)
    assert again.returncode == 0, again.stderr
    assert _video_ids(again.stdout)["first.mp4"] != done["video_id"]
    assert operations(emu).count("PutObject") == 2
    assert open_uploads(emu) == []


def _not_utf8(raw: bytes) -> bytes:
    return b"\xff\xfe\x00" + raw[:50]


def _torn_tail(raw: bytes) -> bytes:
    return raw[: len(raw) - 25]


def _truncated(raw: bytes) -> bytes:
    # Cut inside the target: the VideoId survives, the upload id does not.
    return raw[: len(raw) * 2 // 3]


def _wrong_json(raw: bytes) -> bytes:
    return b"[1, 2, 3]"


def _wrong_version(raw: bytes) -> bytes:
    record = json.loads(raw)
    record["version"] = 99
    return json.dumps(record).encode()


@pytest.mark.parametrize(
    ("spoil", "video_readable", "upload_readable"),
    [
        (_not_utf8, False, False),
        (_torn_tail, True, True),
        (_truncated, True, False),
        (_wrong_json, False, False),
        (_wrong_version, True, True),
    ],
    ids=["not-utf8", "torn-tail", "truncated", "wrong-json", "wrong-version"],
)
def test_unreadable_checkpoint_is_a_warning_and_a_clean_start(
    emu: Any,
    tmp_path: Path,
    spoil: Callable[[bytes], bytes],
    video_readable: bool,
    upload_readable: bool,
) -> None:
    """UPL-DUR-005 UPL-DUR-006 UP-DEV-035: any unreadable checkpoint is a warning and a clean start,
    never a traceback; what can be read of it (VideoId, upload id) is salvaged: the video is
    reused and the old multipart upload aborted, so nothing is left open."""
    emu.control.add_fault(effect=Effect.delay(0.1), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "spoiled.mp4", PARTS * MIN_PART)
    env = _env(tmp_path, emu)
    events, _, _, status = _signal_when(
        _args(path),
        env,
        signal.SIGKILL,
        lambda e: e["event"] == "progress" and e["bytes"] >= 4 * MIN_PART,
    )
    assert status == -signal.SIGKILL
    killed_video = events[-1]["video_id"]
    snapshots = list(_checkpoint_dir(tmp_path).glob("*.json"))
    assert snapshots
    for snapshot in snapshots:
        record = json.loads(snapshot.read_bytes())
        if record.get("format") == "vodref.checkpoint":
            snapshot.write_bytes(spoil(snapshot.read_bytes()))
    emu.control.clear_faults()
    rerun = _run(_args(path), env)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert "unreadable checkpoint" in rerun.stderr
    if video_readable:
        assert _video_ids(rerun.stdout) == {"spoiled.mp4": killed_video}
        assert operations(emu).count("CreateUploadVideo") == 1
    if upload_readable:
        assert operations(emu).count("AbortMultipartUpload") == 1
        assert open_uploads(emu) == []
    else:  # what cannot be read cannot be aborted: the old upload is the one left open
        assert len(open_uploads(emu)) <= 1


def test_changed_file_reuses_the_video_and_aborts_the_old_upload(emu: Any, tmp_path: Path) -> None:
    """UP-DUR-004 UPL-DUR-006: a file that changed since its interrupted upload keeps its
    VideoId and the old multipart upload is aborted, not left open."""
    emu.control.add_fault(effect=Effect.delay(0.1), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "changed.mp4", PARTS * MIN_PART, seed=3)
    env = _env(tmp_path, emu)
    events, _, _, status = _signal_when(
        _args(path),
        env,
        signal.SIGKILL,
        lambda e: e["event"] == "progress" and e["bytes"] >= 4 * MIN_PART,
    )
    assert status == -signal.SIGKILL
    write_file(tmp_path, "changed.mp4", PARTS * MIN_PART, seed=4)
    emu.control.clear_faults()
    rerun = _run(_args(path), env)
    assert rerun.returncode == 0, rerun.stderr
    assert _video_ids(rerun.stdout) == {"changed.mp4": events[-1]["video_id"]}
    assert operations(emu).count("CreateUploadVideo") == 1
    assert open_uploads(emu) == []


def test_two_runs_of_the_same_file_one_uploads_the_other_says_why_not(
    emu: Any, tmp_path: Path
) -> None:
    """UPL-DUR-007 UP-DEV-036: a lock next to the checkpoint lets one process upload a file
    at a time; a second run of the same file stops at once, exit 1, saying another vodref process is
    uploading it. One video; the first run finishes."""
    # Slow enough that the first run is still uploading when the second one starts.
    emu.control.add_fault(effect=Effect.delay(0.4), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "twice.mp4", PARTS * MIN_PART)
    env = _env(tmp_path, emu)
    process = subprocess.Popen(
        [*CLI, *_args(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "progress":
            break
    second = _run(_args(path), env)
    rest, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert list(_video_ids(rest)) == ["twice.mp4"]
    assert second.returncode == 1, second.stderr
    assert "another vodref process is uploading" in second.stderr
    assert operations(emu).count("CreateUploadVideo") == 1
    assert len(_videos(emu)) == 1
    assert open_uploads(emu) == []


def test_lock_is_released_when_its_holder_is_killed(emu: Any, tmp_path: Path) -> None:
    """UPL-DUR-007: the lock dies with its process: after a SIGKILL a re-run is not refused."""
    emu.control.add_fault(effect=Effect.delay(0.1), match=Match(operation="UploadPart"))
    path = write_file(tmp_path, "locked.mp4", PARTS * MIN_PART)
    env = _env(tmp_path, emu)
    _, _, _, status = _signal_when(
        _args(path), env, signal.SIGKILL, lambda e: e["event"] == "progress"
    )
    assert status == -signal.SIGKILL
    emu.control.clear_faults()
    rerun = _run(_args(path), env)
    assert rerun.returncode == 0, rerun.stderr
    assert list(_checkpoint_dir(tmp_path).glob("*.lock"))
