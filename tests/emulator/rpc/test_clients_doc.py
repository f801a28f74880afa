"""The README's "Pointing the official clients at the emulator" stays true: its Python
snippets run, in order, against a live emulator.

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
from support.rpc import RunningEmulator

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## Pointing the official clients at the emulator"
PLACEHOLDER = "127.0.0.1:9000"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section_text() -> str:
    """The README section, from its heading to the next heading of the same level."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : None if end < 0 else end]


def python_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(section_text())


def test_the_document_has_snippets_for_every_client() -> None:
    text = section_text()
    for heading in (
        "### oss2",
        "### alibabacloud-oss-v2",
        "### aliyun-python-sdk-core",
        "### tea clients",
        "### voduploadsdk",
        "### ali-oss (Node)",
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
            source = block.replace(PLACEHOLDER, rpc_emulator.host_port)
            code = compile(source, f"README-clients#{number}", "exec")
            exec(code, namespace)
    finally:
        namespace.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    assert any(v["title"] == "via the proxy" for v in rpc_emulator.state.vod.dump()["videos"])
