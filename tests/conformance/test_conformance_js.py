"""``--uploader js:DIR`` runs a web upload SDK in headless Chromium (CONF-JS-001,
CONF-JS-002). Alibaba Cloud's SDK is not redistributed: DIR here holds the project's own
stand-in written against the documented ``AliyunUpload.Vod`` API
(``js_sdk/aliyun-upload-sdk-0.0.1-vodref-test.min.js``), the ali-oss browser build the
browser tests install, and an ``es6-promise.min.js``, laid out in nested folders as the
SDK's zip is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import psutil
import pytest

from vodref.conformance.cli import EXIT_SETUP
from vodref.conformance.js_subject import JS_DEVIATIONS, JsSubject
from vodref.conformance.runner import Status, run_scenarios
from vodref.conformance.scenarios import by_id
from vodref.conformance.targets import EmulatorTarget

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # a helper process that already ended
        return ""


@pytest.fixture
def sdk_dir(tmp_path: Path, chromium_and_node: tuple[str, str, Path]) -> Path:
    _, _, modules = chromium_and_node
    root = tmp_path / "aliyun-upload-sdk-0.0.1"
    (root / "lib" / "aliyun-upload-sdk").mkdir(parents=True)
    (root / "lib" / "es6-promise").mkdir(parents=True)
    shutil.copy(
        HERE / "js_sdk" / "aliyun-upload-sdk-0.0.1-vodref-test.min.js",
        root / "lib" / "aliyun-upload-sdk",
    )
    shutil.copy(
        modules / "ali-oss" / "dist" / "aliyun-oss-sdk.min.js",
        root / "lib" / "aliyun-upload-sdk" / "aliyun-oss-sdk-6.23.0.min.js",
    )
    shutil.copy(HERE / "js_sdk" / "es6-promise.min.js", root / "lib" / "es6-promise")
    return root


def test_a_directory_without_the_sdk_is_a_setup_error(run_cli, tmp_path: Path) -> None:
    """CONF-JS-001"""
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "es6-promise.min.js").write_text("/* */")
    result = run_cli("--uploader", f"js:{tmp_path}", "--scenario", "small-put")
    assert result.status == EXIT_SETUP
    assert "no aliyun-oss-sdk-*.min.js found (searched recursively)" in result.err
    missing = run_cli("--uploader", f"js:{tmp_path / 'nowhere'}", "--scenario", "small-put")
    assert missing.status == EXIT_SETUP and "not a directory" in missing.err


def test_the_js_subject_declares_every_documented_deviation() -> None:
    """CONF-JS-002: the JS subject declares every UP-DEV id of specs/deviations.md."""
    documented = set(re.findall(r"UP-DEV-\d{3}", (REPO / "specs" / "deviations.md").read_text()))
    assert set(JS_DEVIATIONS) == documented


def test_the_js_sdk_runs_in_chromium_through_the_suite(sdk_dir: Path, vod_emulator: Any) -> None:
    """CONF-JS-001 (recursive search), CONF-JS-002 (page, AppServer, VOD routing, callbacks)"""
    subject = JsSubject.from_directory(sdk_dir)
    assert subject.name == "js:aliyun-upload-sdk-0.0.1-vodref-test"
    target = EmulatorTarget(vod_emulator.url)
    target.start()
    try:
        results = {
            r.scenario.id: r
            for r in run_scenarios(
                by_id(
                    [
                        "small-put",
                        "several-files",
                        "token-expiry-complete-sts",
                        "fault-5xx",
                        "crash-resume",
                    ]
                ),
                subject,
                target,
            )
        }
        browsers = [
            child
            for child in psutil.Process().children(recursive=True)
            if "vodref-conformance-chromium" in _cmdline(child)
        ]
        assert browsers, "the subject runs a Chromium of its own"
    finally:
        target.close()
        subject.close()  # stops its Chromium
    _, alive = psutil.wait_procs(browsers, timeout=15)
    assert alive == [], "closing the subject ends every Chromium process it started"
    status = {k: (r.status, r.reason) for k, r in results.items()}
    assert results["small-put"].status is Status.PASS, status
    assert results["several-files"].status is Status.PASS, status
    assert results["token-expiry-complete-sts"].status is Status.PASS, status
    # 1.5.x does not retry a 5xx (UP-DEV-005) nor list parts on resume (UP-DEV-016).
    assert results["fault-5xx"].status is Status.DEVIATION, status
    assert results["fault-5xx"].deviations == ("UP-DEV-005",)
    assert results["crash-resume"].status is Status.DEVIATION, status
    assert results["crash-resume"].deviations == ("UP-DEV-016",)

    names = [e.name for e in results["several-files"].trace]
    assert names.count("added") == 3 and names.count("succeeded") == 3
    assert names[-1] == "ended" and "progress" in names
    # STS mode: the page signed CreateUploadVideo itself and the suite routed it here.
    sts_ops = [r["operation"] for r in results["token-expiry-complete-sts"].requests]
    assert sts_ops.count("AssumeRole") >= 2
    assert "CreateUploadVideo" in sts_ops and "RefreshUploadVideo" in sts_ops
    # The crash reloads the page; the SDK resumes from its localStorage checkpoint.
    crash = [e.short() for e in results["crash-resume"].trace]
    assert "action(do=restart)" in crash
    assert "started:a(resumed=True)" in crash
