"""``vodref conformance`` / ``python -m vodref.conformance``.

Exit codes (for CI):

====  ==========================================================================
0     every scenario passed, deviated only as the subject documents, or was skipped
1     a scenario failed, or the subject raised (error) in one
2     bad usage (unknown option or scenario, --target aliyun without confirmation)
3     the subject or the target could not be set up (import error, no emulator,
      no Chromium, missing credentials)
4     the run passed but the cloud cleanup left resources behind (--target aliyun)
130   interrupted (Ctrl-C); the emulator and browsers it started are stopped
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .model import Scenario
from .runner import ScenarioResult, Status, run_scenarios
from .scenarios import SCENARIOS, by_id
from .subject import Subject, SubjectLoadError, load_subject
from .targets import EmulatorTarget, Target, TargetError

__all__ = [
    "EXIT_CLEANUP",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_SETUP",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_CLEANUP = 4
EXIT_INTERRUPTED = 130


def build_parser(prog: str = "vodref conformance") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the VOD upload conformance scenarios on an uploader.",
        epilog="Exit codes: 0 passed (or documented deviations / skipped), 1 failed, "
        "2 usage, 3 setup error, 4 cloud cleanup incomplete, 130 interrupted.",
    )
    parser.add_argument(
        "--uploader",
        default="vodref",
        metavar="SUBJECT",
        help="vodref (default), python:MODULE:FACTORY or js:DIR",
    )
    parser.add_argument("--target", choices=("emulator", "aliyun"), default="emulator")
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="ID",
        default=[],
        help="run only these scenarios (repeatable); --list shows the ids",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--junit-xml", type=Path, metavar="PATH")
    parser.add_argument("--html", type=Path, metavar="PATH")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar="SUBJECT",
        help="run every scenario on two subjects and show trace differences",
    )
    parser.add_argument(
        "--save-json",
        type=Path,
        metavar="PATH",
        help="write the results as JSON (for --compare-json later)",
    )
    parser.add_argument(
        "--compare-json",
        type=Path,
        metavar="PATH",
        help="compare this run with saved results (e.g. of a run on aliyun)",
    )
    parser.add_argument(
        "--emulator-url", metavar="URL", help="use this running emulator instead of starting one"
    )
    parser.add_argument("--run-id", help="prefix of every title and key (aliyun; default random)")
    parser.add_argument(
        "--i-understand-this-creates-cloud-resources",
        dest="confirm_cloud",
        action="store_true",
        help="required with --target aliyun: uploads to your account, then deletes what it created",
    )
    return parser


def _list(out: TextIO) -> int:
    for scenario in SCENARIOS:
        out.write(f"{scenario.id:<28} {' '.join(scenario.all_spec_ids())}\n")
    return EXIT_OK


def _make_target(args: argparse.Namespace, err: TextIO) -> Target | int:
    if args.target == "aliyun":
        from .aliyun import AliyunTarget, CloudConfigError  # noqa: PLC0415

        if not args.confirm_cloud:
            err.write(
                "vodref conformance: --target aliyun uploads to your Alibaba Cloud "
                "account; add --i-understand-this-creates-cloud-resources\n"
            )
            return EXIT_USAGE
        try:
            cloud: Target = AliyunTarget.from_environment(run_id=args.run_id)
            return cloud
        except CloudConfigError as error:
            err.write(f"vodref conformance: {error}\n")
            return EXIT_SETUP
    return EmulatorTarget(args.emulator_url)


def _exit_status(results: Sequence[ScenarioResult]) -> int:
    bad = {Status.FAIL, Status.ERROR}
    return EXIT_FAILED if any(r.status in bad for r in results) else EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "vodref conformance",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    if args.list:
        return _list(out)
    saved = None
    if args.compare_json is not None:
        from .results_json import ResultsFileError, load_results  # noqa: PLC0415

        try:
            saved = load_results(args.compare_json)
        except ResultsFileError as error:
            err.write(f"vodref conformance: {error}\n")
            return EXIT_USAGE
    args.saved_results = saved
    try:
        scenarios = by_id(args.scenario)
    except KeyError as error:
        err.write(f"vodref conformance: unknown scenario {error}; --list shows the ids\n")
        return EXIT_USAGE
    subject_specs = list(args.compare) if args.compare else [args.uploader]
    subjects: list[Subject] = []
    try:
        for spec in subject_specs:
            subjects.append(load_subject(spec))
    except SubjectLoadError as error:
        err.write(f"vodref conformance: {error}\n")
        for subject in subjects:
            subject.close()
        return EXIT_SETUP
    target = _make_target(args, err)
    if isinstance(target, int):
        for subject in subjects:
            subject.close()
        return target
    try:
        return _run(args, scenarios, subjects, target, out=out, err=err)
    except KeyboardInterrupt:
        err.write("\nvodref conformance: interrupted\n")
        return EXIT_INTERRUPTED
    finally:
        for subject in subjects:
            subject.close()


def _run(
    args: argparse.Namespace,
    scenarios: Sequence[Scenario],
    subjects: list[Subject],
    target: Target,
    *,
    out: TextIO,
    err: TextIO,
) -> int:
    from .report_text import print_header, print_result_line, print_summary  # noqa: PLC0415

    started = time.monotonic()
    try:
        target.start()
    except TargetError as error:
        err.write(f"vodref conformance: {error}\n")
        target.close()
        return EXIT_SETUP
    all_results: dict[str, list[ScenarioResult]] = {}
    leftovers: list[str] = []
    try:
        for subject in subjects:
            name = subject.name
            while name in all_results:  # --compare X X: keep both columns apart
                name += "'"
            print_header(out, name, target.name)
            all_results[name] = run_scenarios(
                scenarios, subject, target, on_result=lambda r: print_result_line(out, r)
            )
            print_summary(out, all_results[name], time.monotonic() - started)
        leftovers = target.cleanup()
    finally:
        target.close()
    for item in leftovers:
        err.write(f"vodref conformance: could not delete {item}\n")
    results = [r for rs in all_results.values() for r in rs]
    comparison = None
    if args.compare:
        from .compare import compare, format_comparison  # noqa: PLC0415

        name_a, name_b = all_results
        comparison = format_comparison(
            compare(all_results[name_a], all_results[name_b]), name_a, name_b
        )
        out.write(comparison)
    if args.saved_results is not None:
        from .compare import compare, format_comparison  # noqa: PLC0415

        saved_target, saved_subject, saved = args.saved_results
        first = next(iter(all_results))
        label = f"{saved_subject}@{saved_target} (saved)"
        text = format_comparison(
            compare(saved, all_results[first]), label, f"{first}@{target.name}"
        )
        comparison = text if comparison is None else comparison + text
        out.write(text)
    if args.save_json:
        from .results_json import save_results  # noqa: PLC0415

        save_results(args.save_json, all_results, target=target.name)
    if args.junit_xml:
        from .report_junit import write_junit  # noqa: PLC0415

        write_junit(args.junit_xml, all_results)
    if args.html:
        from .report_html import write_html  # noqa: PLC0415

        write_html(args.html, all_results, target=target.name, comparison=comparison)
    status = _exit_status(results)
    if status == EXIT_OK and leftovers:
        return EXIT_CLEANUP
    return status
