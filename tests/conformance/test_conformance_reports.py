"""Reports and comparison: JUnit XML (CONF-REP-002), no secret anywhere (CONF-REP-004),
``--compare`` (CONF-CMP-001)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from vodref.conformance.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from vodref.conformance.redact import REDACTED, redact_query, redact_requests, redact_text
from vodref.conformance.scenarios import by_id

ROOT_KEY_ID = "LTAI5tEmulatorRootKey"
ROOT_SECRET = "vodref-emulator-root-secret-do-not-use-in-prod"


def test_junit_xml_has_a_testcase_per_scenario_with_its_spec_ids(run_cli, tmp_path: Path) -> None:
    """CONF-REP-002"""
    junit = tmp_path / "out" / "junit.xml"
    result = run_cli(
        "--uploader",
        "python:conformance_subjects:naive",
        "--scenario",
        "small-put",
        "--scenario",
        "multipart",
        "--scenario",
        "stop-start",
        "--junit-xml",
        str(junit),
    )
    assert result.status == EXIT_FAILED
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == "conformance[naive]"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"small-put", "multipart", "stop-start"}
    assert cases["multipart"].find("failure") is not None
    assert cases["stop-start"].find("skipped") is not None
    assert cases["small-put"].find("failure") is None
    ids = [
        p.get("value") for p in cases["multipart"].iter("property") if p.get("name") == "spec-id"
    ]
    assert ids == list(by_id(["multipart"])[0].all_spec_ids())
    text = junit.read_text()
    assert ROOT_KEY_ID not in text and ROOT_SECRET not in text


def test_redaction_removes_keys_tokens_and_signatures() -> None:
    """CONF-REP-004"""
    query = (
        "uploadId=ABC&partNumber=2&OSSAccessKeyId=STS.NUabcdef123456&Signature=xyz%3D"
        "&security-token=CAIS123&x-oss-credential=LTAI5tEmulatorRootKey%2F20260101"
    )
    redacted = redact_query(query)
    assert "uploadId=ABC" in redacted and "partNumber=2" in redacted
    for secret in ("STS.NUabcdef123456", "xyz", "CAIS123", ROOT_KEY_ID):
        assert secret not in redacted
    assert redact_text(f"key {ROOT_KEY_ID} and STS.NUabcdef123456") == (
        f"key {REDACTED} and {REDACTED}"
    )
    [record] = redact_requests([{"query": query, "path": f"/{ROOT_KEY_ID}", "seq": 1}])
    assert ROOT_KEY_ID not in str(record) and record["seq"] == 1


def test_compare_shows_trace_differences_with_spec_and_deviation_ids(run_cli) -> None:
    """CONF-CMP-001"""
    same = run_cli("--compare", "vodref", "vodref", "--scenario", "small-put")
    assert same.status == EXIT_OK
    assert "no differences between vodref and vodref'" in same.out
    different = run_cli(
        "--compare",
        "vodref",
        "python:conformance_subjects:endless",
        "--scenario",
        "several-files",
        "--scenario",
        "small-put",
    )
    assert different.status == EXIT_OK, different.out  # endless declares UP-DEV-002
    assert "2 scenario(s) differ between vodref and endless" in different.out
    assert "several-files: pass vs expected deviation" in different.out
    assert "specs/deviations.md: UP-DEV-002" in different.out
    assert "-ended" in different.out
    assert "spec ids: UPL-API-012 UP-STATE-006 UP-CB-007" in different.out


def test_a_saved_run_is_compared_with_this_one(run_cli, tmp_path: Path) -> None:
    """CONF-CMP-002: --save-json then --compare-json (as a cloud run against an emulator
    run would be); a file that is not a results file is a usage error."""
    saved = tmp_path / "vodref.json"
    first = run_cli("--scenario", "small-put", "--scenario", "multipart", "--save-json", str(saved))
    assert first.status == EXIT_OK
    same = run_cli("--scenario", "small-put", "--compare-json", str(saved))
    assert same.status == EXIT_OK
    assert "no differences between vodref@emulator (saved) and vodref@emulator" in same.out
    other = run_cli(
        "--uploader",
        "python:conformance_subjects:naive",
        "--scenario",
        "multipart",
        "--compare-json",
        str(saved),
    )
    assert other.status == EXIT_FAILED
    assert "multipart: pass vs fail" in other.out
    assert "check differs: successful UploadPart requests: 11..11" in other.out
    assert ROOT_KEY_ID not in saved.read_text()
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "something else"}')
    refused = run_cli("--scenario", "small-put", "--compare-json", str(bogus))
    assert refused.status == EXIT_USAGE and "not a vodref-conformance-results/1 file" in refused.err
