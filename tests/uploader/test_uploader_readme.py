"""The README's "As a library" section stays true: its Python snippets run, in order, in
one namespace, against a live emulator (the placeholder address is replaced), with the
files they name written first and the per-user cache directory pointed at a temporary one.
UPL-API-001, UPL-API-004."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### As a library"
PLACEHOLDER = "http://127.0.0.1:9000"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n### ", start + len(SECTION))
    return PYTHON_BLOCK.findall(text[start : None if end < 0 else end])


def test_the_uploader_snippets_run(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _blocks()
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "movie.mp4").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (tmp_path / "trailer.mp4").write_bytes(os.urandom(250 * 1024))
    namespace: dict[str, Any] = {"__name__": "readme_uploader"}
    for number, block in enumerate(blocks, start=1):
        source = block.replace(PLACEHOLDER, emu.url.rstrip("/"))
        exec(compile(source, f"README-uploading#{number}", "exec"), namespace)
    movie, trailer = namespace["movie"], namespace["trailer"]
    assert movie.state.value == "Success" and movie.video_id
    assert trailer.video_id and trailer.video_id != movie.video_id
    assert f"uploaded movie.mp4 as {movie.video_id}" in capsys.readouterr().out
    videos = {v["video_id"]: v["status"] for v in emu.control.state()["vod"]["videos"]}
    assert videos[movie.video_id] in ("UploadSucc", "Normal")
    assert videos[trailer.video_id] in ("UploadSucc", "Normal")
