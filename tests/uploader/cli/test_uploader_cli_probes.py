"""Every bad input and failure a newcomer can meet, run as the real ``vodref`` process
(against the real emulator on loopback where a service is involved): the exit status, the
one line that explains it (naming the flag, not a Python field), no traceback, and no
secret in any stream. Each run carries a distinctive AccessKeyId, AccessKeySecret and
SecurityToken in its environment, and both captured streams are searched for all three.
"""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_clean, run_cli
from support.uploader import MIN_PART, isolated_env, write_file

import vodref
from emulator.faults import Effect, Match

KEY_ID = "LTAIprobeKeyId7Q3x"
SECRET = "probe-secret-Zq81vN4"
TOKEN = "probe-sts-token-CAIS9x7"
PROBE_SECRETS = (KEY_ID, SECRET, TOKEN)


@dataclass(frozen=True)
class Probe:
    name: str
    args: list[str]
    status: int
    says: str  # a substring of stderr
    env: dict[str, str] = field(default_factory=dict)
    never: tuple[str, ...] = ()  # substrings that must not appear in stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield int(server.getsockname()[1])
    server.close()


def _probes(tmp_path: Path) -> list[Probe]:
    a_file = tmp_path / "not-a-directory"
    a_file.write_text("x")
    refused = f"http://127.0.0.1:{_free_port()}"
    remote = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
    }
    return [
        Probe("bad IPv6 URL", ["--endpoint", "http://[::1"], 2, "--endpoint 'http://[::1'"),
        Probe("empty --endpoint", ["--endpoint", ""], 2, "--endpoint is empty"),
        Probe(
            "empty VODREF_VOD_ENDPOINT",
            [],
            2,
            "VODREF_VOD_ENDPOINT is empty",
            env={"VODREF_VOD_ENDPOINT": ""},
        ),
        Probe("ftp endpoint", ["--endpoint", "ftp://example.com"], 2, "http:// or https://"),
        Probe("endpoint without host", ["--endpoint", "http://"], 2, "has no host"),
        Probe("endpoint with path", ["--endpoint", "http://h/x?y=1"], 2, "no path"),
        Probe("port out of range", ["--endpoint", "http://127.0.0.1:99999"], 2, "not a valid URL"),
        Probe(
            "emulator data dir is a file",
            ["--emulator-data-dir", str(a_file)],
            2,
            "is a file",
        ),
        Probe("checkpoint dir is a file", ["--checkpoint-dir", str(a_file)], 2, "--checkpoint-dir"),
        Probe(
            "concurrent files 0",
            ["--concurrent-files", "0"],
            2,
            "argument --concurrent-files: 0 is outside 1..64",
            never=("max_concurrent_files",),
        ),
        Probe(
            "multipart threshold 0",
            ["--multipart-threshold", "0"],
            2,
            "argument --multipart-threshold: '0' is outside 1..64MiB",
            never=("multipart_threshold",),
        ),
        Probe(
            "retry count -1",
            ["--retry-count", "-1"],
            2,
            "argument --retry-count: -1 is outside 0..1000",
            never=("max_retries",),
        ),
        Probe("parallel 65", ["--parallel", "65"], 2, "argument --parallel: 65 is outside"),
        Probe("parallel not a number", ["--parallel", "two"], 2, "'two' is not a whole number"),
        Probe(
            "part size too small",
            ["--part-size", "10KiB"],
            2,
            "argument --part-size: '10KiB' is outside 100KiB..5GiB",
            never=("part_size",),
        ),
        Probe("part size no size", ["--part-size", "big"], 2, "not a size: 'big' (try 1MiB"),
        Probe("timeout 0", ["--timeout", "0"], 2, "argument --timeout"),
        Probe("timeout nan", ["--timeout", "nan"], 2, "argument --timeout"),
        Probe("progress style", ["--progress", "fancy"], 2, "argument --progress"),
        Probe(
            "endpoint without credentials",
            ["--endpoint", "http://127.0.0.1:1"],
            2,
            "an endpoint needs credentials",
            env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""},
        ),
        Probe(
            "faults variable not JSON",
            [],
            2,
            "VODREF_EMULATOR_FAULTS is not JSON",
            env={"VODREF_EMULATOR_FAULTS": "{"},
        ),
        Probe(
            "refused endpoint (AccessKey mode)",
            ["--endpoint", refused, "--retry-count", "0", "-v"],
            1,
            f"cannot connect to {refused[7:]} (connection refused)",
            env=remote,
        ),
        Probe(
            "refused endpoint (STS mode), debug logging",
            ["--endpoint", refused, "--retry-count", "0", "--debug"],
            1,
            f"cannot connect to {refused[7:]} (connection refused)",
            env={**remote, "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN},
        ),
    ]


def test_every_upload_probe(tmp_path: Path) -> None:
    """UPL-CLI-007 UPL-CLI-009 UPL-CLI-010: each bad input or unreachable endpoint is one
    line naming the flag or variable, with the documented exit status, no traceback and
    no secret in any stream."""
    video = write_file(tmp_path, "clip.mp4", 1000)

    def run(probe: Probe) -> subprocess.CompletedProcess[str]:
        env = isolated_env(tmp_path)
        env.update({"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID})  # present, never printed
        env.update(probe.env)
        return run_cli(["upload", str(video), "--progress", "none", *probe.args], env, timeout=120)

    probes = _probes(tmp_path)
    # Independent processes, each mostly waiting for its interpreter to start: run 4 at once.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, probes))
    failures = []
    for probe, result in zip(probes, results, strict=True):
        try:
            assert result.returncode == probe.status, result.stderr
            assert probe.says in result.stderr
            for word in probe.never:
                assert word not in result.stderr
            if probe.status == 2:  # usage errors: exactly one line
                assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert_clean(result, PROBE_SECRETS)
        except AssertionError as error:
            failures.append(f"{probe.name}: {error}\n--- stderr:\n{result.stderr}")
    assert not failures, "\n\n".join(failures)


def test_no_answer_says_timed_out(tmp_path: Path, silent_server: int) -> None:
    """UPL-CLI-010: a server that accepts and never answers: exit 1, HOST:PORT and the
    timeout, no request line, no secret."""
    video = write_file(tmp_path, "clip.mp4", 1000)
    env = isolated_env(tmp_path)
    env.update({"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET})
    endpoint = f"http://127.0.0.1:{silent_server}"
    result = run_cli(
        ["upload", str(video), "--endpoint", endpoint, "--timeout", "0.5", "--retry-count", "0"],
        env,
    )
    assert result.returncode == 1, result.stderr
    assert f"127.0.0.1:{silent_server}" in result.stderr and "timed out" in result.stderr
    assert_clean(result, PROBE_SECRETS)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["checkpoints"],
        ["checkpoints", "clean"],
        ["checkpoints", "clean", "--older-than", "soon"],
        ["demo", "--size", "0"],
        ["upload"],
    ],
)
def test_other_usage_errors(tmp_path: Path, args: list[str]) -> None:
    """UPL-CLI-009: every other command's bad usage: one line, exit 2, no traceback."""
    result = run_cli(args, isolated_env(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "(see vodref" in result.stderr and "Traceback" not in result.stderr


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    """UPL-CLI-007: a missing file and a directory are named, exit 2, nothing started."""
    env = isolated_env(tmp_path)
    missing = run_cli(["upload", str(tmp_path / "nope.mp4")], env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    directory = run_cli(["upload", str(tmp_path)], env)
    assert directory.returncode == 2 and str(tmp_path) in directory.stderr
    for result in (missing, directory):
        assert "embedded emulator" not in result.stderr
        assert_clean(result, PROBE_SECRETS)


def test_help_and_version(tmp_path: Path) -> None:
    """UPL-CLI-011: --help shows defaults, the size syntax, the environment and the exit
    statuses, and no secret even when the environment holds them; --version."""
    env = isolated_env(tmp_path)
    env.update(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN,
        }
    )
    upload_help = run_cli(["upload", "--help"], env)
    assert upload_help.returncode == 0
    text = " ".join(upload_help.stdout.split())
    for expected in (
        "default 1MiB",
        "512KiB",
        "(default 5)",
        "(default 1)",
        "(default 3)",
        "(default 60)",
        "VODREF_VOD_ENDPOINT",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "NO_COLOR",
        "exit status:",
        "130 interrupted",
    ):
        assert expected in text, expected
    assert_clean(upload_help, PROBE_SECRETS)
    top = run_cli(["--help"], env)
    assert top.returncode == 0 and "checkpoints" in top.stdout and "exit status" in top.stdout
    version = run_cli(["--version"], env)
    assert version.returncode == 0 and version.stdout.strip() == f"vodref {vodref.__version__}"


def test_json_progress_is_json_only_and_names_files_as_given(tmp_path: Path) -> None:
    """UPL-CLI-012: with --progress json every stdout line is a JSON object, the results
    included, and d1/a.mp4 and d2/a.mp4 are told apart."""
    for folder, seed in (("d1", 1), ("d2", 2)):
        (tmp_path / folder).mkdir()
        write_file(tmp_path / folder, "a.mp4", 2 * MIN_PART, seed=seed)
    env = isolated_env(tmp_path)
    result = run_cli(
        [
            "upload",
            "d1/a.mp4",
            "d2/a.mp4",
            "--progress",
            "json",
            "--part-size",
            "100KiB",
            "--concurrent-files",
            "2",
        ],
        env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(r, dict) and "event" in r for r in records)
    results = {r["file"]: r for r in records if r["event"] == "result"}
    assert set(results) == {"d1/a.mp4", "d2/a.mp4"}
    assert all(r["status"] == "succeeded" and r["video_id"] for r in results.values())
    assert results["d1/a.mp4"]["video_id"] != results["d2/a.mp4"]["video_id"]
    progress_files = {r["file"] for r in records if r["event"] == "progress"}
    assert progress_files == {"d1/a.mp4", "d2/a.mp4"}
    assert "VideoId" not in result.stdout  # no plain result line mixed in


def test_debug_logging_against_the_emulator_masks_everything(emu: Any, tmp_path: Path) -> None:
    """UPL-CLI-015 UPL-CLI-010: -vv logs every request (the SDKs' own debug lines) with
    the key id, secret, signatures and Authorization values masked; a failed upload is one
    line with the service's code."""
    emu.control.add_fault(
        effect=Effect.error(403, "AccessDenied", "no"),
        match=Match(operation="CompleteMultipartUpload"),
    )
    video = write_file(tmp_path, "logged.mp4", 3 * MIN_PART)
    env = isolated_env(tmp_path)
    env.update(
        {
            "VODREF_VOD_ENDPOINT": emu.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.access_key_secret,
        }
    )
    result = run_cli(
        ["upload", str(video), "--part-size", "100KiB", "--retry-count", "0", "-vv"], env
    )
    assert result.returncode == 1
    assert "upload failed: AccessDenied" in result.stderr
    assert " DEBUG " in result.stderr and "***" in result.stderr  # it did log, masked
    assert_clean(result, (emu.access_key_id, emu.access_key_secret))


def test_library_warnings_use_the_cli_format(tmp_path: Path) -> None:
    """UPL-CLI-015: a library warning (an unreadable checkpoint) reaches the user as
    ``vodref: warning: ...``, not through Python's last-resort handler, and the upload
    goes on."""
    video = write_file(tmp_path, "warned.mp4", 2 * MIN_PART)
    checkpoints = tmp_path / "checkpoints"
    env = isolated_env(tmp_path)
    args = ["upload", str(video), "--checkpoint-dir", str(checkpoints), "--progress", "none"]
    # A first run makes the store; then every record in it is torn.
    refuse_parts = json.dumps(
        [
            {
                "match": {"operation": "UploadPart"},
                "effect": {"type": "error", "status": 503, "code": "ServiceUnavailable"},
            }
        ]
    )
    first = run_cli([*args, "--retry-count", "0"], {**env, "VODREF_EMULATOR_FAULTS": refuse_parts})
    assert first.returncode == 1
    records = list(checkpoints.glob("*.json"))
    assert records
    for record in records:
        record.write_text("{torn")
    second = run_cli(args, env)
    assert second.returncode == 0, second.stderr
    assert "vodref: warning: ignoring unreadable checkpoint for warned.mp4" in second.stderr
    assert_clean(second, PROBE_SECRETS)


def test_environment_is_not_a_fallback_when_flag_is_given(tmp_path: Path) -> None:
    """UPL-CLI-009: an explicit --endpoint is checked even when VODREF_VOD_ENDPOINT is good,
    and a good --endpoint wins over an empty variable."""
    video = write_file(tmp_path, "clip.mp4", 1000)
    env = {**isolated_env(tmp_path), "VODREF_VOD_ENDPOINT": "http://127.0.0.1:1"}
    bad = run_cli(["upload", str(video), "--endpoint", "gopher://x"], env)
    assert bad.returncode == 2 and "--endpoint 'gopher://x'" in bad.stderr
    env["VODREF_VOD_ENDPOINT"] = ""
    no_credentials = run_cli(["upload", str(video), "--endpoint", "http://127.0.0.1:1"], env)
    assert no_credentials.returncode == 2 and "credentials" in no_credentials.stderr
