"""The README's "Testing with the emulator" section stays true: its ```python blocks run,
in order, in one namespace, against a live emulator (the placeholder 127.0.0.1:9000 is
replaced)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from emulator.pytest_plugin import EmulatorEndpoint

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## Testing with the emulator"
PLACEHOLDER = "http://127.0.0.1:9000"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_every_python_snippet_runs(vod_emulator: EmulatorEndpoint) -> None:
    """EMU-CTL-010, EMU-INP-001: the documented recipes work as written."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    blocks = PYTHON_BLOCK.findall(text[start : None if end < 0 else end])
    assert len(blocks) >= 6
    namespace: dict[str, Any] = {"__name__": "control_doc"}
    try:
        for number, block in enumerate(blocks, start=1):
            source = block.replace(PLACEHOLDER, vod_emulator.url)
            exec(compile(source, f"README-testing#{number}", "exec"), namespace)
        assert namespace["summary"]["seed"] == 42
    finally:
        control = namespace.get("control")
        if control is not None:
            control.close()
        namespace.clear()
