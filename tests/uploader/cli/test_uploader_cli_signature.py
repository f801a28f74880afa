"""``vodref upload --oss-signature``: Signature V4 for OSS from the command line, checked in
the emulator's request log (EMU-CTL-009) over a real socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.cli import run_cli
from support.uploader import MIN_PART, isolated_env, write_file


def _env(tmp_path: Path, emu: Any, **extra: str) -> dict[str, str]:
    env = isolated_env(tmp_path)
    env["VODREF_VOD_ENDPOINT"] = emu.url
    env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = emu.access_key_id
    env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = emu.access_key_secret
    env["ALIBABA_CLOUD_REGION_ID"] = emu.region
    env.update(extra)
    return env


def _oss_signatures(emu: Any) -> set[str]:
    return {r["signature"] for r in emu.control.requests() if r["service"] == "oss"}


def test_v4_from_the_flag_and_from_the_environment(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-018 UPL-TRN-007 EMU-CTL-009: every OSS request of a multipart upload (Initiate,
    parts, Complete) and of a single Put is V4-signed; without the switch, V1."""
    big = write_file(tmp_path, "big.mp4", 3 * MIN_PART)
    small = write_file(tmp_path, "small.mp4", 1000, seed=2)
    common = ["--part-size", "100KiB", "--progress", "none"]
    flagged = run_cli(
        ["upload", str(big), str(small), *common, "--oss-signature", "v4"], _env(tmp_path, emu)
    )
    assert flagged.returncode == 0, flagged.stderr
    assert _oss_signatures(emu) == {"OSS4-HMAC-SHA256"}
    operations = {r["operation"] for r in emu.control.requests() if r["service"] == "oss"}
    assert {"InitiateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} <= operations
    assert "PutObject" in operations

    emu.control.clear_requests()
    again = write_file(tmp_path, "again.mp4", 2 * MIN_PART, seed=3)
    from_env = run_cli(
        ["upload", str(again), *common], _env(tmp_path, emu, VODREF_OSS_SIGNATURE="v4")
    )
    assert from_env.returncode == 0, from_env.stderr
    assert _oss_signatures(emu) == {"OSS4-HMAC-SHA256"}

    emu.control.clear_requests()
    plain = write_file(tmp_path, "plain.mp4", 2 * MIN_PART, seed=4)
    default = run_cli(["upload", str(plain), *common], _env(tmp_path, emu))
    assert default.returncode == 0, default.stderr
    assert _oss_signatures(emu) == {"OSS"}


def test_v4_with_the_embedded_emulator_and_bad_values(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-018 UPL-CLI-002: the embedded emulator checks V4 scoped to its own region; an
    unknown value is a usage error before anything starts."""
    path = write_file(tmp_path, "clip.mp4", 2 * MIN_PART)
    env = isolated_env(tmp_path)
    embedded = run_cli(["upload", str(path), "--part-size", "100KiB", "--oss-signature", "v4"], env)
    assert embedded.returncode == 0, embedded.stderr
    assert "VideoId: " in embedded.stdout
    bad_flag = run_cli(["upload", str(path), "--oss-signature", "v2"], env)
    assert bad_flag.returncode == 2 and "--oss-signature" in bad_flag.stderr
    bad_env = run_cli(["upload", str(path)], _env(tmp_path, emu, VODREF_OSS_SIGNATURE="V4x"))
    assert bad_env.returncode == 2 and "VODREF_OSS_SIGNATURE" in bad_env.stderr
    assert emu.control.requests() == []
