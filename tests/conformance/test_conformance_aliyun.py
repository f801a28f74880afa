"""``--target aliyun`` guard rails, tested without any traffic off loopback: the refusal
without confirmation (CONF-CLD-001), the run-id prefix (CONF-CLD-002), the skip reasons
(CONF-CLD-003) and the cleanup report (CONF-CLD-004), the last two by pointing the cloud
target's VOD endpoint at the local emulator."""

from __future__ import annotations

from typing import Any

import pytest

from vodref.conformance.aliyun import AliyunTarget, CloudConfigError
from vodref.conformance.cli import EXIT_SETUP, EXIT_USAGE
from vodref.conformance.runner import Status, run_scenarios
from vodref.conformance.scenarios import by_id
from vodref.conformance.vodref_subject import VodrefSubject

CLOUD_VARIABLES = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_REGION_ID",
    "VODREF_CONFORMANCE_ROLE_ARN",
)


def test_the_cloud_target_needs_confirmation_then_credentials(
    run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CONF-CLD-001: refused before anything is built, let alone sent."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tNotARealKeyAtAll")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-a-real-secret")
    refused = run_cli("--target", "aliyun", "--scenario", "small-put")
    assert refused.status == EXIT_USAGE
    assert "--i-understand-this-creates-cloud-resources" in refused.err
    for name in CLOUD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    missing = run_cli(
        "--target", "aliyun", "--i-understand-this-creates-cloud-resources", "--scenario", "x"
    )
    assert missing.status == EXIT_USAGE  # the unknown scenario is caught first
    missing = run_cli(
        "--target",
        "aliyun",
        "--i-understand-this-creates-cloud-resources",
        "--scenario",
        "small-put",
    )
    assert missing.status == EXIT_SETUP
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in missing.err
    assert "not-a-real-secret" not in missing.err + missing.out


def test_run_ids_are_checked_and_credentials_stay_out_of_reprs() -> None:
    """CONF-CLD-002"""
    target = AliyunTarget.from_environment(
        run_id="vodref-conf-test1",
        environ={"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tX", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "s3"},
    )
    assert target.prefix == "vodref-conf-test1-"
    assert "s3" not in repr(target) and "LTAI5tX" not in repr(target)
    generated = AliyunTarget(access_key_id="a", access_key_secret="b")
    assert generated.prefix.startswith("vodref-conf-") and len(generated.prefix) > 14
    for bad in ("a", "has space", "x/y", "-lead"):
        with pytest.raises(CloudConfigError):
            AliyunTarget(access_key_id="a", access_key_secret="b", run_id=bad)
    with pytest.raises(CloudConfigError):
        AliyunTarget(access_key_id="", access_key_secret="b")


def test_on_the_cloud_target_faults_are_skipped_titles_prefixed_and_videos_deleted(
    vod_emulator: Any,
) -> None:
    """CONF-CLD-002, CONF-CLD-003, CONF-CLD-004, with the emulator standing in for the cloud."""
    target = AliyunTarget(
        access_key_id=vod_emulator.access_key_id,
        access_key_secret=vod_emulator.access_key_secret,
        run_id="vodref-conf-guard",
        vod_endpoint=vod_emulator.url,
    )
    target.start()
    try:
        results = {
            r.scenario.id: r
            for r in run_scenarios(
                by_id(["small-put", "fault-5xx", "token-expiry-part-sts", "image"]),
                VodrefSubject(),
                target,
            )
        }
        state = vod_emulator.control.state()
        titles = [v["title"] for v in state["vod"]["videos"]]
        images = state["vod"]["images"]
        left = target.cleanup()
    finally:
        target.close()
    assert results["small-put"].status is Status.PASS, results["small-put"].reason
    server_checks = [c for c in results["small-put"].checks if c.check.server]
    assert server_checks and all(c.status is Status.SKIP for c in server_checks)
    assert results["fault-5xx"].status is Status.SKIP
    assert "control plane" in (results["fault-5xx"].reason or "")
    assert results["token-expiry-part-sts"].status is Status.SKIP
    assert results["image"].status is Status.PASS, results["image"].reason
    assert titles == ["vodref-conf-guard-small-put a"]
    assert len(images) == 1
    # DeleteVideo worked; the emulator has no DeleteImage, so the image is reported.
    assert [v["video_id"] for v in vod_emulator.control.state()["vod"]["videos"]] == [] or all(
        v.get("status") == "Deleted" for v in vod_emulator.control.state()["vod"]["videos"]
    )
    assert len(left) == 1 and left[0].startswith("image ")
