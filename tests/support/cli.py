"""Running the ``vodref`` command as a real process, and checking what it printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "vodref.cli"]


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
        assert not re.search(r"(?i)signature['\"]?\s*[=:]\s*['\"]?(?!\*\*\*)\w", text), text
        assert not re.search(r"(?i)authorization['\"]?\s*[=:]\s*['\"]?(?!\*\*\*)\w", text), text
