"""docs/clients.md stays true: its Python snippets run, in order, against a live emulator.

Each ```python block of the document is executed in one shared namespace, with the
placeholder address ``127.0.0.1:9000`` replaced by the test emulator's. The Node snippet is
mirrored by tests/node/multipart.js (tests/emulator/node/test_ali_oss.py).
Requirements: specs/emulator-vod-sts.md (EMU-VOD-015, EMU-VOD-017, EMU-STS-004).
"""

from __future__ import annotations

import gc
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from rpc_support import RunningEmulator

DOC = Path(__file__).resolve().parents[3] / "docs" / "clients.md"
PLACEHOLDER = "127.0.0.1:9000"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_document_has_snippets_for_every_client() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in (
        "## oss2",
        "## alibabacloud-oss-v2",
        "## aliyun-python-sdk-core",
        "## tea clients",
        "## voduploadsdk",
        "## ali-oss (Node)",
    ):
        assert heading in text, heading
    assert len(python_blocks()) >= 8


def test_every_python_snippet_runs(
    rpc_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EMU-VOD-015, EMU-VOD-017, EMU-STS-004: the documented recipes work as written."""
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    # The voduploadsdk snippet sets the proxy variables itself; monkeypatch restores them.
    monkeypatch.setenv("HTTP_PROXY", "")
    monkeypatch.setenv("http_proxy", "")
    namespace: dict[str, Any] = {"__name__": "clients_doc"}
    try:
        for number, block in enumerate(python_blocks(), start=1):
            code = compile(
                block.replace(PLACEHOLDER, rpc_emulator.host_port), f"clients.md#{number}", "exec"
            )
            exec(code, namespace)
    finally:
        namespace.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    assert any(v["title"] == "via the proxy" for v in rpc_emulator.state.vod.dump()["videos"])
