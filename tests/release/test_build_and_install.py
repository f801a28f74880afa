"""The release as a user gets it: build the sdist and wheel, look inside, install, run.

One build per session (a module fixture): PyPA's ``build`` makes the sdist from a copy of the
source tree, then the wheel from that sdist, so a file missing from the sdist breaks the wheel
too. The copy keeps ``build/`` and ``*.egg-info`` out of the working tree and leaves out what a
developer's tree holds besides the source (virtualenvs, caches), as a fresh clone would.
pip's cache makes the isolated build environment and the fresh virtualenv quick.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import emulator
import vodref

ROOT = Path(__file__).resolve().parents[2]
VERSION = vodref.__version__
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".ci-venv",
    "node_modules",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".coverage*",
    "htmlcov",
    "tmp",
)
LICENSE_TEXT = (ROOT / "LICENSE").read_text(encoding="utf-8")


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would put the source tree on the path."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    environment.update(extra)
    return environment


def run(command: list[str | Path], cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=clean_environment(**extra_env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) built from a copy of the source tree."""
    work = tmp_path_factory.mktemp("release")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = work / "dist"
    run([sys.executable, "-m", "build", "--outdir", out, source], cwd=work)
    sdists = sorted(out.glob("*.tar.gz"))
    wheels = sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(out.iterdir())
    return sdists[0], wheels[0]


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"vodref-{VERSION}.dist-info/METADATA"))


def sdist_names(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    prefix = f"vodref-{VERSION}/"
    assert all(name == prefix.rstrip("/") or name.startswith(prefix) for name in names)
    return [name.removeprefix(prefix) for name in names if name.startswith(prefix)]


def test_metadata_and_license(dists: tuple[Path, Path]) -> None:
    """REL-PKG-001: SPDX license expression, the license file, authors, keywords,
    classifiers; the full Apache-2.0 text in both distributions."""
    sdist, wheel = dists
    assert LICENSE_TEXT.lstrip().startswith("Apache License\n")
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in LICENSE_TEXT
    assert "END OF TERMS AND CONDITIONS" in LICENSE_TEXT
    metadata = wheel_metadata(wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["License"] is None  # the deprecated free-text field is gone
    assert metadata["Author"] == "vodref developers"
    assert "vod" in metadata["Keywords"].split(",")
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")], classifiers
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(f"vodref-{VERSION}.dist-info/licenses/LICENSE").decode()
    assert packed == LICENSE_TEXT
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"vodref-{VERSION}/LICENSE")
        assert member is not None
        assert member.read().decode() == LICENSE_TEXT


def test_wheel_holds_the_two_packages_and_nothing_else(dists: tuple[Path, Path]) -> None:
    """REL-PKG-002: vodref and emulator with py.typed; no tests, tooling or virtualenv."""
    _, wheel = dists
    names = wheel_names(wheel)
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"vodref", "emulator", f"vodref-{VERSION}.dist-info"}, top_level
    for required in (
        "vodref/__init__.py",
        "vodref/py.typed",
        "vodref/core/__init__.py",
        "emulator/__init__.py",
        "emulator/py.typed",
        "emulator/cli.py",
    ):
        assert required in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"vodref-{VERSION}.dist-info/entry_points.txt").decode()
    assert re.search(r"^vodref = vodref\.", entry_points, re.MULTILINE), entry_points
    assert re.search(r"^vodref-emulator = emulator\.", entry_points, re.MULTILINE), entry_points


def test_sdist_holds_the_source_and_docs_only(dists: tuple[Path, Path]) -> None:
    """REL-PKG-002: README, CHANGELOG, LICENSE, pyproject and both packages; no tests/,
    virtualenv, .git or caches."""
    sdist, _ = dists
    names = sdist_names(sdist)
    for required in (
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "pyproject.toml",
        "vodref/__init__.py",
        "vodref/py.typed",
        "emulator/__init__.py",
        "emulator/py.typed",
    ):
        assert required in names, required
    forbidden = re.compile(r"^(tests|\.venv|\.git|node_modules|build|dist)(/|$)|__pycache__")
    assert not [name for name in names if forbidden.search(name)]


def test_one_version_everywhere(dists: tuple[Path, Path]) -> None:
    """REL-PKG-003: the version is written once and reported alike everywhere."""
    sdist, wheel = dists
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    assert emulator.__version__ == VERSION
    assert sdist.name == f"vodref-{VERSION}.tar.gz"
    assert wheel.name == f"vodref-{VERSION}-py3-none-any.whl"
    assert wheel_metadata(wheel)["Version"] == VERSION
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert VERSION not in pyproject, "the version is written in pyproject.toml again"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog or f"## [{VERSION}]" in changelog


def test_the_wheel_installs_and_runs_in_a_fresh_virtualenv(
    dists: tuple[Path, Path], tmp_path: Path
) -> None:
    """REL-PKG-004: pip install the wheel into a new virtualenv; from outside the source tree
    vodref and emulator import from it, `vodref demo` uploads and `vodref-emulator --help`
    and `--version` answer."""
    _, wheel = dists
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    bin_dir = venv / "bin"
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path)

    where = run(
        [
            bin_dir / "python",
            "-c",
            "import vodref, emulator; print(vodref.__file__, emulator.__file__)",
        ],
        cwd=tmp_path,
    ).stdout.split()
    assert all(Path(path).is_relative_to(venv) for path in where), where

    home = tmp_path / "home"
    demo = run([bin_dir / "vodref", "demo"], cwd=tmp_path, HOME=str(home), XDG_DATA_HOME=str(home))
    assert re.search(r"\b[0-9a-f]{32}\b", demo.stdout), demo.stdout  # the new VideoId
    assert "Traceback" not in demo.stderr

    help_text = run([bin_dir / "vodref-emulator", "--help"], cwd=tmp_path).stdout
    assert help_text.startswith("usage: vodref-emulator")
    assert "--data-dir" in help_text
    version = run([bin_dir / "vodref-emulator", "--version"], cwd=tmp_path).stdout
    assert version.strip() == f"vodref-emulator {VERSION}"
