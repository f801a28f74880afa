"""What an install without the ``emulator`` extra can do (UPL-PKG-003): ``responses`` is
hidden from a child interpreter by an import hook, the way an install that never had it
behaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.uploader import isolated_env

# Run first in the child: any import of ``responses`` fails as if it were not installed.
HIDE_RESPONSES = """
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "responses" or name.startswith("responses."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def _child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE_RESPONSES + code],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        timeout=120,
        check=False,
    )


def test_the_hook_hides_responses(tmp_path: Path) -> None:
    """UPL-PKG-003: the child really cannot import ``responses`` (else the tests below prove
    nothing)."""
    child = _child("import responses\n", tmp_path)
    assert child.returncode != 0
    assert "No module named 'responses'" in child.stderr


def test_in_process_mode_names_the_missing_extra(tmp_path: Path) -> None:
    """UPL-PKG-003: importing in-process mode without ``responses`` is an ImportError that
    says which extra to install."""
    child = _child(
        "try:\n"
        "    import emulator.inprocess_transport\n"
        "except ImportError as error:\n"
        "    print(error)\n",
        tmp_path,
    )
    assert child.returncode == 0, child.stderr
    assert "vodref[emulator]" in child.stdout


def test_upload_and_the_demo_need_no_test_dependency(tmp_path: Path) -> None:
    """UPL-PKG-003 UPL-CLI-002: ``vodref demo`` (the embedded emulator over a socket) uploads
    without ``responses``, and neither it nor the library loads it."""
    child = _child(
        "from vodref.cli import main\n"
        "status = main(['demo', '--size', '200KiB', '--progress', 'none'])\n"
        "assert 'responses' not in sys.modules\n"
        "raise SystemExit(status)\n",
        tmp_path,
    )
    assert child.returncode == 0, child.stderr
    assert "VideoId: " in child.stdout
