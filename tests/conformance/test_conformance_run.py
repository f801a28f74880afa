"""The conformance suite as a user runs it: scenarios, verdicts, exit codes.

Cites specs/conformance.md: CONF-CLI-001 (the command), CONF-CLI-002 (exit codes),
CONF-CLI-003 (--list, --scenario), CONF-CLI-004 (one emulator per run, lazy import),
CONF-SCN-001 (every scenario cites existing spec ids), CONF-SCN-002 (the library's list),
CONF-SCN-003 (vodref passes everything), CONF-SCN-004 (checks can fail), CONF-SUB-001..004
(adapter loading, errors, capabilities, declared deviations), CONF-REP-001 (table).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from vodref.cli import main as vodref_main
from vodref.conformance.cli import EXIT_FAILED, EXIT_OK, EXIT_SETUP, EXIT_USAGE
from vodref.conformance.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]
SPEC_ID = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)+-[0-9]{2,4}\b")


def _spec_ids() -> set[str]:
    found: set[str] = set()
    for spec in (REPO / "specs").glob("*.md"):
        found.update(SPEC_ID.findall(spec.read_text(encoding="utf-8")))
    return found


def _rows(out: str) -> dict[str, str]:
    """scenario id -> result column of the terminal table (CONF-REP-001)."""
    rows = {}
    ids = {s.id for s in SCENARIOS}
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in ids:
            rows[fields[0]] = line
    return rows


def test_every_scenario_cites_spec_ids_that_exist_and_states_its_checks() -> None:
    """CONF-SCN-001"""
    known = _spec_ids()
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    for scenario in SCENARIOS:
        assert scenario.spec_ids, scenario.id
        assert scenario.checks, scenario.id
        for check in scenario.checks:
            assert check.spec_ids, (scenario.id, check.describe)
        unknown = set(scenario.all_spec_ids()) - known
        deviations = {d for c in scenario.checks for d in c.deviations} - known
        assert not unknown and not deviations, (scenario.id, unknown, deviations)


def test_the_library_covers_the_promised_situations() -> None:
    """CONF-SCN-002: the list of the issue, by scenario id."""
    ids = {s.id for s in SCENARIOS}
    assert {
        "small-put",
        "multipart",
        "several-files",
        "token-expiry-part-upload-auth",
        "token-expiry-part-sts",
        "token-expiry-complete-upload-auth",
        "token-expiry-complete-sts",
        "fault-5xx",
        "fault-reset",
        "fault-stall",
        "fault-truncate",
        "fault-drop-after-commit",
        "stop-start",
        "cancel-resume",
        "delete-mid-upload",
        "crash-resume",
        "changed-source",
        "image",
        "sts-refresh-mid-upload",
        "boundary-100k-minus-1",
        "boundary-100k",
        "boundary-10000-parts",
    } <= ids
    fault_types = {f["effect"]["type"] for s in SCENARIOS for f in s.faults}
    assert {"error", "reset_before_body", "stall", "truncate", "drop_after_commit"} <= fault_types


def test_the_whole_library_passes_for_vodref_with_its_own_emulator(run_cli) -> None:
    """CONF-SCN-003, CONF-CLI-001, CONF-CLI-004: the default run starts one emulator."""
    result = run_cli(own_emulator=True)
    rows = _rows(result.out)
    assert set(rows) == {s.id for s in SCENARIOS}, result.out
    assert all(" pass " in row for row in rows.values()), result.out
    assert result.status == EXIT_OK, result.out + result.err
    assert f"{len(SCENARIOS)} scenarios: {len(SCENARIOS)} pass" in result.out


def test_a_simple_uploader_fails_the_promises_it_breaks(run_cli) -> None:
    """CONF-SCN-004, CONF-SUB-001, CONF-SUB-003; CONF-REP-001 (the table and its reasons)."""
    result = run_cli(
        "--uploader",
        "python:conformance_subjects:naive",
        "--scenario",
        "small-put",
        "--scenario",
        "multipart",
        "--scenario",
        "boundary-100k",
        "--scenario",
        "crash-resume",
    )
    rows = _rows(result.out)
    assert " pass " in rows["small-put"], result.out
    assert " FAIL " in rows["multipart"] and " FAIL " in rows["boundary-100k"], result.out
    assert " skipped " in rows["crash-resume"], result.out
    assert "successful UploadPart requests: 11..11: 0 successful UploadPart" in result.out
    assert "unsupported by naive: crash-resume" in result.out
    assert result.status == EXIT_FAILED


def test_a_subject_that_raises_is_reported_and_the_run_goes_on(run_cli) -> None:
    """CONF-SUB-002"""
    result = run_cli(
        "--uploader",
        "python:conformance_subjects:raising",
        "--scenario",
        "small-put",
        "--scenario",
        "image",
    )
    rows = _rows(result.out)
    assert " ERROR " in rows["small-put"] and " ERROR " in rows["image"], result.out
    assert "raising raised: RuntimeError: this uploader is broken (image)" in result.out
    assert result.status == EXIT_FAILED


def test_declared_deviations_are_expected_and_undeclared_ones_fail(run_cli) -> None:
    """CONF-SUB-004: dropping onUploadEnd breaks checks that cite UP-DEV-002."""
    declared = run_cli(
        "--uploader", "python:conformance_subjects:endless", "--scenario", "several-files"
    )
    assert " deviation " in _rows(declared.out)["several-files"], declared.out
    assert "deviates as documented: UP-DEV-002" in declared.out
    assert declared.status == EXIT_OK
    undeclared = run_cli(
        "--uploader",
        "python:conformance_subjects:endless_undeclared",
        "--scenario",
        "several-files",
    )
    assert " FAIL " in _rows(undeclared.out)["several-files"], undeclared.out
    assert undeclared.status == EXIT_FAILED


def test_usage_and_setup_errors_have_their_exit_codes(run_cli) -> None:
    """CONF-CLI-002, CONF-CLI-003, CONF-SUB-001"""
    listing = run_cli("--list")
    assert listing.status == EXIT_OK
    assert [line.split()[0] for line in listing.out.splitlines()] == [s.id for s in SCENARIOS]
    unknown = run_cli("--scenario", "no-such-scenario")
    assert unknown.status == EXIT_USAGE and "no-such-scenario" in unknown.err
    assert run_cli("--no-such-option").status == EXIT_USAGE
    for spec, message in (
        ("python:no_such_module_here:factory", "ModuleNotFoundError"),
        ("python:conformance_subjects", "expected python:MODULE:FACTORY"),
        ("python:conformance_subjects:not_a_subject", "did not return a subject"),
        ("ruby:x", "unknown uploader"),
    ):
        result = run_cli("--uploader", spec, "--scenario", "small-put")
        assert result.status == EXIT_SETUP, (spec, result.err)
        assert message in result.err, (spec, result.err)
    no_emulator = run_cli("--emulator-url", "http://127.0.0.1:9", "--scenario", "small-put")
    assert no_emulator.status == EXIT_SETUP and "no emulator answers" in no_emulator.err


def test_the_library_does_not_import_the_emulator() -> None:
    """CONF-CLI-004: only a run (inside functions) loads it."""
    code = (
        "import sys, vodref.conformance, vodref.conformance.cli, vodref.conformance.runner,"
        " vodref.conformance.scenarios, vodref.conformance.vodref_subject;"
        " print(sorted(m for m in sys.modules if m == 'emulator' or m.startswith('emulator.')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "[]", proc.stdout


def test_python_dash_m_runs_the_suite(tmp_path: Path) -> None:
    """CONF-CLI-001: the module entry point, end to end in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "vodref.conformance", "--scenario", "small-put"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "small-put" in proc.stdout and "1 scenarios: 1 pass" in proc.stdout


def test_vodref_conformance_is_a_subcommand_of_the_vodref_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """CONF-CLI-001: ``vodref conformance`` hands its arguments to the suite."""
    assert vodref_main(["conformance", "--list"]) == EXIT_OK
    listed = capsys.readouterr().out.split()
    assert all(scenario.id in listed for scenario in SCENARIOS)
    assert vodref_main(["conformance", "--scenario", "nope"]) == EXIT_USAGE
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    assert vodref_main(["conformance", "--bogus"]) == EXIT_USAGE
    assert "usage: vodref conformance" in capsys.readouterr().err


def test_ctrl_c_stops_the_run_and_its_emulator(tmp_path: Path) -> None:
    """CONF-CLI-002: 130 on Ctrl-C, and the emulator the run started does not outlive it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vodref.conformance", "--scenario", "stop-start"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()  # printed once the emulator answers
        assert header.startswith("vodref conformance: subject vodref"), header
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("emulator" in " ".join(child.cmdline()) for child in children), children
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "vodref conformance: interrupted" in err and "Traceback" not in err
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []
