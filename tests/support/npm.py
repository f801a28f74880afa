"""The Node packages the ali-oss and Chromium tests run, installed once and shared.

``tests/node/package-lock.json`` is installed with ``npm ci`` into a cache directory
outside the repository (``$VODREF_NODE_CACHE``, else ``$XDG_CACHE_HOME/vodref-node``, else
``~/.cache/vodref-node``; a temporary directory when that is not writable). The directory
name is a hash of the package files and the Node major version, so a lockfile change
installs afresh and repeated runs reuse the install. A half-finished install never becomes
visible: npm runs in a private directory that is renamed into place only after it
succeeded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
PACKAGE_FILES = ("package.json", "package-lock.json")
# What a complete install holds; a directory missing one of them is not reused.
REQUIRED_PACKAGES = ("ali-oss", "playwright-core")
# Variables that would route Node, npm or Chromium traffic elsewhere; scripts run without.
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "NODE_OPTIONS",
)


def cache_root() -> Path:
    explicit = os.environ.get("VODREF_NODE_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vodref-node"


def install_key(node_major: int) -> str:
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update(name.encode())
        digest.update((NODE_DIR / name).read_bytes())
    digest.update(f"node{node_major}".encode())
    return digest.hexdigest()[:20]


def _installed(final: Path) -> bool:
    modules = final / "node_modules"
    return all((modules / name / "package.json").is_file() for name in REQUIRED_PACKAGES)


def npm_install(npm: str, node_major: int, root: Path, timeout: float = 600.0) -> Path:
    """``npm ci`` into ``root/<key>`` (atomically, by rename); its ``node_modules``.

    Raises ``RuntimeError`` when npm fails, ``OSError`` when ``root`` is not writable."""
    key = install_key(node_major)
    final = root / key
    if _installed(final):
        return final / "node_modules"
    root.mkdir(parents=True, exist_ok=True)
    work = root / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        for name in PACKAGE_FILES:
            shutil.copyfile(NODE_DIR / name, work / name)
        env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"`npm ci` failed in {work} (exit {proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        try:
            work.rename(final)
        except OSError:
            if not _installed(final):  # not another run's identical install: a real error
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return final / "node_modules"


def install_node_modules(npm: str, node_major: int, fallback_root: Callable[[], Path]) -> Path:
    """:func:`npm_install` into the cache, or into ``fallback_root()`` when the cache
    directory cannot be written."""
    try:
        return npm_install(npm, node_major, cache_root())
    except OSError as exc:
        sys.stderr.write(f"node cache not writable ({exc}); installing under tmp\n")
        return npm_install(npm, node_major, fallback_root())
