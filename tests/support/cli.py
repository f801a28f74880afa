"""Running the ``vodref`` command as a real process, and checking what it printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "vodref.cli"]

# A credential's value after its name, unmasked; and the emulator's temporary credentials
# (VOD UploadAuth and STS AssumeRole hand out STS.* key ids and CAIS* tokens), which no
# run knows in advance.
_UNMASKED = [
    re.compile(rf"(?i)({name})['\"]?\s*[=:]\s*['\"]?(?!\*\*\*)\w")
    for name in (
        "signature",
        "authorization",
        "security-?token|security_token",
        "access-?key-?(id|secret)|access_key_(id|secret)",
        "uploadauth",
    )
] + [re.compile(r"STS\.[0-9a-zA-Z]{6,}"), re.compile(r"CAIS[0-9A-Za-z_\-]{20,}")]


def run_cli(
    args: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def assert_clean(result: subprocess.CompletedProcess[str], secrets: tuple[str, ...]) -> None:
    """No traceback, and no secret, signature or unmasked credential in either stream."""
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert "Traceback" not in text, f"{name}:\n{text}"
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {name}:\n{text}"
        for pattern in _UNMASKED:
            match = pattern.search(text)
            assert match is None, f"{match.group(0)!r} in {name}:\n{text}"
