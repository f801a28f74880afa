"""The HTML report renders in headless Chromium (CONF-REP-003): a summary per subject,
a section per scenario with its checks, trace and the emulator's request log, the
comparison, nothing fetched from anywhere, and no secret in the text (CONF-REP-004)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.npm import PROXY_VARIABLES

from vodref.conformance.cli import EXIT_FAILED


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_html_report_renders_in_chromium(run_cli, chromium_and_node, served) -> None:
    """CONF-REP-003 (the report in Chromium's DOM) and CONF-REP-004 (no secret in it)."""
    chromium, node, modules = chromium_and_node
    directory, base = served
    result = run_cli(
        "--compare",
        "vodref",
        "python:conformance_subjects:naive",
        "--scenario",
        "small-put",
        "--scenario",
        "multipart",
        "--scenario",
        "crash-resume",
        "--html",
        str(directory / "report.html"),
    )
    assert result.status == EXIT_FAILED, result.out
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["NODE_PATH"] = str(modules)
    proc = subprocess.run(
        [node, str(Path(__file__).with_name("report_dom.js")), f"{base}/report.html", chromium],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    dom = json.loads(proc.stdout.strip().splitlines()[-1])
    assert dom["ok"], dom
    assert dom["title"] == "vodref conformance report"
    assert dom["pageErrors"] == []
    assert dom["requests"] == [f"{base}/report.html"], "the report must be self-contained"
    rows = {(r["subject"], r["scenario"]): r["status"] for r in dom["rows"]}
    assert rows == {
        ("vodref", "small-put"): "pass",
        ("vodref", "multipart"): "pass",
        ("vodref", "crash-resume"): "pass",
        ("naive", "small-put"): "pass",
        ("naive", "multipart"): "fail",
        ("naive", "crash-resume"): "skipped",
    }
    sections = {(s["subject"], s["scenario"]): s for s in dom["sections"]}
    assert {r["link"] for r in dom["rows"]} == {f"#{s['id']}" for s in dom["sections"]}
    crash = sections[("vodref", "crash-resume")]
    assert crash["checks"] and set(crash["checks"]) == {"pass"}
    assert crash["traceItems"] > 10
    assert crash["requestRows"] > 5
    assert {"CreateUploadVideo", "ListParts", "CompleteMultipartUpload"} <= set(crash["operations"])
    server = crash["server"]
    assert (server["videos"], server["open uploads"], server["objects"]) == (1, 0, 1)
    assert server["parts sent"] >= 9 and server["parts re-sent"] <= 3
    assert server["bytes re-sent"] == server["parts re-sent"] * 102_400
    naive_multipart = sections[("naive", "multipart")]
    assert "fail" in naive_multipart["checks"]
    assert "PutObject" in naive_multipart["operations"]
    assert "UploadPart" not in naive_multipart["operations"]
    assert "scenario(s) differ between vodref and naive" in (dom["comparison"] or "")
    for secret in ("LTAI", "vodref-emulator-root-secret", "Signature=", "security-token"):
        assert secret not in dom["text"]
    raw = (directory / "report.html").read_text()
    assert "LTAI" not in raw and "vodref-emulator-root-secret" not in raw
