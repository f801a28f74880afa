"""``vodref-emulator`` as a user meets it when something is wrong, as a real subprocess.

The probe table covers every way a start can fail; each row checks the exit status, the
one-line message, that no traceback appears and that no secret (the AccessKeyId, the
AccessKeySecret given or defaulted, a token) is in any captured stream.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import oss2
import pytest

import vodref
from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.logs import redact

CUSTOM_KEY_ID = "LTAIprobeKeyId0001"
CUSTOM_SECRET = "probe-secret-never-printed"
SECRETS = (DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, CUSTOM_KEY_ID, CUSTOM_SECRET)
HOLD_LOCK = """
import sys
from emulator.persistence import lock_data_dir
lock = lock_data_dir(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


@dataclass(frozen=True)
class Probe:
    name: str
    args: Callable[[Path, dict[str, str]], list[str]]
    message: str  # a regex for the whole of stderr (one line)


def run_emulator(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def assert_nothing_leaks(*streams: str) -> None:
    for stream in streams:
        assert "Traceback" not in stream, stream
        for secret in SECRETS:
            assert secret not in stream, f"{secret!r} printed:\n{stream}"


@pytest.fixture
def context(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A file, a directory held by another process and a bound port for the probes."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    held = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(held)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
            yield {
                "file": str(a_file),
                "held": str(held),
                "holder": str(holder.pid),
                "taken": str(taken.getsockname()[1]),
            }
        finally:
            holder.kill()
            holder.wait(timeout=10)
            for stream in (holder.stdin, holder.stdout):
                if stream is not None:
                    stream.close()


PROBES = [
    Probe(
        "port too big", lambda t, c: ["--port", "70000"], r"argument --port: '70000' is not a port"
    ),
    Probe("port negative", lambda t, c: ["--port", "-1"], r"argument --port: '-1' is not a port"),
    Probe("port not a number", lambda t, c: ["--port", "http"], r"--port: 'http' is not a port"),
    Probe(
        "data dir is a file",
        lambda t, c: ["--data-dir", c["file"]],
        r"cannot use data directory {file}: it is a file, not a directory",
    ),
    Probe(
        "data dir under a file",
        lambda t, c: ["--data-dir", c["file"] + "/state"],
        r"cannot use data directory {file}/state: a part of the path is a file, not a directory",
    ),
    Probe(
        "data dir in use",
        lambda t, c: ["--data-dir", c["held"]],
        r"cannot use data directory {held}: it is in use by process {holder}; "
        r"stop it or give another --data-dir",
    ),
    Probe(
        "data dir and in-memory",
        lambda t, c: ["--in-memory", "--data-dir", str(t / "x")],
        r"argument --data-dir: not allowed with argument --in-memory",
    ),
    Probe("unknown option", lambda t, c: ["--bogus"], r"unrecognized arguments: --bogus"),
    Probe(
        "port in use",
        lambda t, c: ["--port", c["taken"]],
        r"cannot listen on 127\.0\.0\.1:{taken}: Address already in use",
    ),
    Probe(
        "address not on this machine",
        # TEST-NET-1 (RFC 5737): bind fails locally; nothing is sent anywhere.
        lambda t, c: ["--host", "192.0.2.1"],
        r"cannot listen on 192\.0\.2\.1:0: Cannot assign requested address",
    ),
]


@pytest.mark.parametrize("probe", PROBES, ids=[probe.name for probe in PROBES])
def test_a_failed_start_is_one_line_and_exit_status_2(
    probe: Probe, tmp_path: Path, context: dict[str, str]
) -> None:
    """EMU-CLI-003 EMU-CLI-006: one line on stderr, exit 2, no traceback, no secret, even
    with the credentials given on the command line."""
    credentials = ["--access-key-id", CUSTOM_KEY_ID, "--access-key-secret", CUSTOM_SECRET]
    result = run_emulator(*credentials, *probe.args(tmp_path, context))
    assert result.returncode == 2, result
    assert result.stdout == ""
    escaped = {name: re.escape(value) for name, value in context.items()}
    expected = "vodref-emulator: .*" + probe.message.format(**escaped)
    assert re.fullmatch(expected + r".*\n", result.stderr), result.stderr
    assert result.stderr.count("\n") == 1
    assert_nothing_leaks(result.stdout, result.stderr)


def test_version_and_help() -> None:
    """EMU-CLI-004 EMU-CLI-003: --version names the package version; --help lists the
    exit statuses and the logging options."""
    version = run_emulator("--version")
    assert (version.returncode, version.stdout) == (0, f"vodref-emulator {vodref.__version__}\n")
    assert_nothing_leaks(version.stdout, version.stderr)
    help_text = run_emulator("--help").stdout
    assert "exit status:" in help_text
    for line in ("0    stopped by SIGINT", "2    bad arguments, or cannot start"):
        assert line in help_text
    for option in ("--version", "-v, --verbose", "--debug"):
        assert option in help_text


def test_a_directory_freed_by_a_killed_holder_starts(tmp_path: Path) -> None:
    """EMU-CLI-006: after the holder is SIGKILLed the same --data-dir starts normally."""
    data_dir = tmp_path / "state"
    first = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("vodref-emulator listening on ")
        refused = run_emulator("--data-dir", str(data_dir))
        assert refused.returncode == 2
        assert f"in use by process {first.pid};" in refused.stderr
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)
    second = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert second.stdout is not None
        assert second.stdout.readline().startswith("vodref-emulator listening on ")
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=15)
        assert second.returncode == 0, err
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate(timeout=10)


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) [\w.]+: .+$")


def test_debug_logs_every_request_readably_and_masks_secrets(tmp_path: Path) -> None:
    """EMU-CLI-005: -v logs the data directory's start-up cleanup, --debug one line per
    request; every line has date, level and logger; no key id, secret or signature."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--debug",
            "--data-dir",
            str(tmp_path / "state"),
            "--access-key-id",
            CUSTOM_KEY_ID,
            "--access-key-secret",
            CUSTOM_SECRET,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.removeprefix("vodref-emulator listening on ").strip()
        bucket = oss2.Bucket(oss2.Auth(CUSTOM_KEY_ID, CUSTOM_SECRET), url, "log-bucket")
        try:
            bucket.create_bucket()
            bucket.put_object("logged.txt", b"x")
            signed = bucket.sign_url("GET", "logged.txt", 60)
            assert "Signature=" in signed
            assert bucket.session.session.get(signed, timeout=30).status_code == 200
        finally:
            bucket.session.session.close()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err
    lines = err.splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), err
    assert any(" INFO emulator.state: data directory " in line for line in lines), err
    assert any(
        line.endswith("DEBUG emulator.app: PUT oss:PutObject log-bucket/logged.txt -> 200")
        for line in lines
    ), err
    gets = [line for line in lines if "GET oss:GetObject log-bucket/logged.txt -> 200" in line]
    assert gets, err
    signature = re.search(r"Signature=([^&]+)", signed)
    assert signature is not None
    assert signature.group(1) not in err
    assert_nothing_leaks(err)


def test_library_warnings_go_through_the_log_format() -> None:
    """EMU-CLI-005: with the CLI's logging set up, a Python warning is one formatted line,
    never the last-resort handler's bare text; info is hidden at verbosity 0."""
    program = (
        "import logging, warnings\n"
        "from emulator.logs import configure_logging\n"
        "configure_logging(0)\n"
        "warnings.warn('a library is unhappy', UserWarning)\n"
        "logging.getLogger('emulator.x').info('not shown')\n"
        "logging.getLogger('emulator.x').error('Signature=abc&AccessKeyId=LTAIxyz shown')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert LOG_LINE.match(lines[0]) and " WARNING py.warnings: " in lines[0]
    assert lines[0].endswith("UserWarning: a library is unhappy")
    assert lines[1].endswith("ERROR emulator.x: Signature=***&AccessKeyId=*** shown")
    assert "not shown" not in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /b/k?OSSAccessKeyId=LTAIabc&Expires=1&Signature=x%2By HTTP/1.1",
            "GET /b/k?OSSAccessKeyId=***&Expires=1&Signature=*** HTTP/1.1",
        ),
        (
            "?x-oss-credential=LTAI%2F2024&x-oss-signature=ab12&x-oss-security-token=CAIS",
            "?x-oss-credential=***&x-oss-signature=***&x-oss-security-token=***",
        ),
        (
            "Action=AssumeRole&AccessKeyId=STS.k&SecurityToken=tok&SignatureMethod=HMAC-SHA1",
            "Action=AssumeRole&AccessKeyId=***&SecurityToken=***&SignatureMethod=HMAC-SHA1",
        ),
        ("Authorization: OSS LTAIabc:c2lnbmF0dXJl", "Authorization: ***"),
        ("{'Authorization': 'OSS4-HMAC-SHA256 Credential=LTAI/x'}", "{'Authorization': '***'}"),
        ("key is custom-secret here", "key is *** here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    """EMU-CLI-005: what the log formatter masks."""
    assert redact(text, ["custom-secret"]) == expected
