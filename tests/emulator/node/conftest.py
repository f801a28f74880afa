"""Fixtures for the Node.js (ali-oss) conformance tests.

- ``node_runtime``: the ``node`` and ``npm`` executables. The tests skip only when ``node``
  is not installed at all; a missing ``npm`` next to an installed ``node`` is an error.
- ``ali_oss_modules``: a ``node_modules`` directory holding exactly what
  ``tests/node/package-lock.json`` pins, installed and cached by ``tests/support/npm.py``
  (shared with the Chromium tests).
- ``node_emulator``: a threaded emulator on 127.0.0.1 with a free port, for this module.
- ``run_node``: runs one script of ``tests/node`` and returns its JSON result line.
- ``upload_file``: writes a named file of deterministic pseudo-random bytes to upload.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
from support.node import (
    MULTIPART_SIZE,
    Credentials,
    NodeEmulator,
    NodeRunner,
    NodeRuntime,
    pseudo_random,
)
from support.npm import NODE_DIR, PROXY_VARIABLES, install_node_modules

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

SCRIPT_TIMEOUT_SECONDS = 90


@pytest.fixture(scope="session")
def node_runtime() -> NodeRuntime:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (no `node` on PATH); the ali-oss tests need it")
    npm = shutil.which("npm")
    assert npm is not None, f"node is installed at {node} but npm is not on PATH"
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    assert version.startswith("v"), version
    return NodeRuntime(node=node, npm=npm, version=version)


@pytest.fixture(scope="session")
def ali_oss_modules(node_runtime: NodeRuntime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        modules = install_node_modules(
            node_runtime.npm, node_runtime.major, lambda: tmp_path_factory.mktemp("vodref-node")
        )
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    installed = json.loads((modules / "ali-oss" / "package.json").read_text())
    assert installed["version"].startswith("6."), installed["version"]
    return modules


@pytest.fixture(scope="module")
def node_emulator() -> Iterator[NodeEmulator]:
    state = EmulatorState()
    server = ThreadedServer(state, host="127.0.0.1", port=0)
    server.start()
    try:
        url = server.url.rstrip("/")
        port = int(url.rsplit(":", 1)[1])
        assert url.startswith("http://127.0.0.1:"), url
        yield NodeEmulator(
            state=state,
            url=url,
            port=port,
            access_key_id=DEFAULT_ACCESS_KEY_ID,
            access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
        )
    finally:
        server.stop()


@pytest.fixture
def run_node(
    node_runtime: NodeRuntime, ali_oss_modules: Path, node_emulator: NodeEmulator
) -> NodeRunner:
    """``run_node(script, *args, bucket=..., credentials=None, addressing="ip", ...)``.

    Runs ``tests/node/<script>`` with the emulator's endpoint in the environment, waits
    at most SCRIPT_TIMEOUT_SECONDS, and returns the parsed JSON of its last stdout line
    (with ``"_stderr"`` added for failure messages).
    """

    def run(
        script: str,
        *args: str,
        bucket: str,
        credentials: Credentials | None = None,
        addressing: str = "ip",
        signature: str = "v1",
        clock_skew_seconds: int = 0,
        timeout: float = SCRIPT_TIMEOUT_SECONDS,
    ) -> dict[str, Any]:
        creds = credentials or Credentials(
            node_emulator.access_key_id, node_emulator.access_key_secret
        )
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env.update(
            NODE_PATH=str(ali_oss_modules),
            OSS_ENDPOINT=node_emulator.url,
            OSS_BUCKET=bucket,
            OSS_ACCESS_KEY_ID=creds.access_key_id,
            OSS_ACCESS_KEY_SECRET=creds.access_key_secret,
            OSS_REGION="oss-" + node_emulator.state.config.region,
            OSS_ADDRESSING=addressing,
            OSS_SIGNATURE=signature,
            OSS_CLOCK_SKEW_SECONDS=str(clock_skew_seconds),
        )
        env.pop("OSS_STS_TOKEN", None)
        if creds.security_token:
            env["OSS_STS_TOKEN"] = creds.security_token
        try:
            proc = subprocess.run(
                [node_runtime.node, str(NODE_DIR / script), *args],
                cwd=NODE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{script} {args} did not finish in {timeout} s: {exc.stderr!r}")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        assert proc.returncode == 0 and lines, (
            f"{script} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
        result: dict[str, Any] = json.loads(lines[-1])
        result["_stderr"] = proc.stderr[-4000:]
        return result

    return run


@pytest.fixture(scope="module")
def oss2_root(node_emulator: NodeEmulator) -> Iterator[Callable[[str], Any]]:
    """``oss2_root(bucket)``: an oss2 Bucket with the root key (path style, CRC on).

    All share one connection pool, closed at teardown (no socket left to the GC).
    """
    auth = oss2.Auth(node_emulator.access_key_id, node_emulator.access_key_secret)
    session = oss2.Session()

    def make(bucket: str) -> Any:
        return oss2.Bucket(auth, node_emulator.url, bucket, session=session)

    try:
        yield make
    finally:
        session.session.close()


@pytest.fixture(scope="module")
def bucket_name(node_emulator: NodeEmulator, oss2_root: Callable[[str], Any]) -> str:
    name = "node-ali-oss"
    oss2_root(name).create_bucket()
    return name


@pytest.fixture
def upload_file(tmp_path: Path) -> Callable[[str, int], tuple[Path, bytes]]:
    """``upload_file(name, size=MULTIPART_SIZE)``: (path, data) of a fresh file under
    ``tmp_path`` whose bytes depend only on ``name`` and ``size``."""

    def make(name: str, size: int = MULTIPART_SIZE) -> tuple[Path, bytes]:
        data = pseudo_random(size, name)
        path = tmp_path / name
        path.write_bytes(data)
        return path, data

    return make
