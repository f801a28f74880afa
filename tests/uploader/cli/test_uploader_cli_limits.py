"""The CLI reaches the retry budget, the outage limit and the credentials deadline."""

from __future__ import annotations

from pathlib import Path

from vodref.cli.commands import _checked_options
from vodref.cli.options import build_parser, parse_arguments, resolve_environment


def test_retry_budget_outage_limit_and_credentials_timeout_from_the_cli(tmp_path: Path) -> None:
    """UP-OUTAGE-004: --retry-budget, --outage-limit and --credentials-timeout become the
    uploader's options (defaults 50 retries, 300 s, 300 s)."""
    path = tmp_path / "a.mp4"
    path.write_bytes(b"x" * 200_000)

    def parse(argv: list[str]):  # type: ignore[no-untyped-def]
        # As main() does: the parser, then what the environment fills in.
        return resolve_environment(parse_arguments(build_parser(), argv))

    args = parse(
        [
            "upload",
            "--retry-budget",
            "7",
            "--outage-limit",
            "12.5",
            "--credentials-timeout",
            "9",
            str(path),
        ]
    )
    options = _checked_options(args, [str(path)])
    assert options.retry.budget == 7
    assert options.outage_limit == 12.5 and options.credentials_timeout == 9.0
    defaults = _checked_options(parse(["upload", str(path)]), [str(path)])
    assert defaults.retry.budget == 50
    assert defaults.outage_limit == 300.0 and defaults.credentials_timeout == 300.0
