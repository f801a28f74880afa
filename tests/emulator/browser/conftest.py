"""Fixtures for the real-browser tests: Chromium, the page, the emulator, the app.

- ``chromium_executable``: Debian's ``/usr/bin/chromium``. When it is missing and we are
  root, ``scripts/install-browser`` apt-gets it. The tests skip only when it is missing
  and cannot be installed (not root); with ``CI`` set that is a failure instead, so CI
  can never go green without having run them.
- ``browser_node_modules``: ali-oss and playwright-core as ``tests/node/package-lock.json``
  pins them (``npm ci`` into the cache shared with ``tests/emulator/node``).
- ``browser_emulator``: a threaded emulator on 127.0.0.1 (free port) with the control
  plane, whose app also logs request headers (``wire``).
- ``page_server``: the test page on ``http://localhost:<its own port>``, a different
  origin from the emulator's, so every OSS request is cross-origin as on a real site.
- ``chromium``: one Chromium with the page open, for the module (``.call``/``.reload``).
- ``vod``: the app's server side: aliyunsdkcore calling VOD at the emulator.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import oss2
import pytest
from aliyunsdkcore.client import AcsClient
from support.browser import (
    BrowserEmulator,
    BrowserUnavailable,
    ChromiumSession,
    PageServer,
    RecordingApp,
    VodApp,
    find_or_install_chromium,
)
from support.npm import install_node_modules

from emulator.control import Client as ControlClient
from emulator.control import ControlHandler
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    try:
        return find_or_install_chromium()
    except BrowserUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and Chromium is unavailable: {exc}", pytrace=False)
        pytest.skip(str(exc))


@dataclass(frozen=True)
class NodeTools:
    node: str
    modules: Path


@pytest.fixture(scope="session")
def browser_node_modules(tmp_path_factory: pytest.TempPathFactory) -> NodeTools:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and Node.js is not installed", pytrace=False)
        pytest.skip("Node.js is not installed (no `node` on PATH); the browser tests need it")
    npm = shutil.which("npm")
    assert npm is not None, f"node is installed at {node} but npm is not on PATH"
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    major = int(version.lstrip("v").split(".")[0])
    try:
        modules = install_node_modules(npm, major, lambda: tmp_path_factory.mktemp("vodref-node"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return NodeTools(node=node, modules=modules)


@pytest.fixture(scope="module")
def browser_emulator() -> Iterator[BrowserEmulator]:
    state = EmulatorState()
    app = RecordingApp(state, control=ControlHandler(state))
    server = ThreadedServer(state, host="127.0.0.1", port=0, app=app)
    server.start()
    url = server.url.rstrip("/")
    control = ControlClient(url)
    oss_session = oss2.Session()
    try:
        assert url.startswith("http://127.0.0.1:"), url
        yield BrowserEmulator(
            state=state,
            app=app,
            url=url,
            port=server.port,
            control=control,
            access_key_id=state.config.access_key_id,
            access_key_secret=state.config.access_key_secret,
            oss_session=oss_session,
        )
    finally:
        oss_session.session.close()
        control.close()
        server.stop()
        state.db.close()


@pytest.fixture(scope="module")
def page_server(browser_node_modules: NodeTools) -> Iterator[PageServer]:
    sdk = browser_node_modules.modules / "ali-oss" / "dist" / "aliyun-oss-sdk.js"
    assert sdk.is_file(), sdk
    server = PageServer(sdk).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(
    chromium_executable: str,
    browser_node_modules: NodeTools,
    page_server: PageServer,
    browser_emulator: BrowserEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChromiumSession]:
    session = ChromiumSession(
        node=browser_node_modules.node,
        modules=browser_node_modules.modules,
        page_url=f"http://localhost:{page_server.port}/",
        chromium=chromium_executable,
        stderr_path=tmp_path_factory.mktemp("chromium") / "stderr.txt",
    )
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def vod(browser_emulator: BrowserEmulator) -> Iterator[VodApp]:
    client = AcsClient(
        browser_emulator.access_key_id,
        browser_emulator.access_key_secret,
        "cn-shanghai",
        auto_retry=False,
    )
    try:
        yield VodApp(client, browser_emulator.port)
    finally:
        client.session.close()
