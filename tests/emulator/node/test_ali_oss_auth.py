"""ali-oss 6.x against the emulator, in Node: credentials and signatures.

STS tokens (scoped to one key, expired), the errors of a wrong secret, an unknown key, a
skewed clock and a missing bucket as ali-oss names them, and V4 signing
(``authorizationV4``). How ali-oss reaches the emulator: see test_ali_oss.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.node import (
    MULTIPART_SIZE,
    PART_SIZE,
    Credentials,
    NodeEmulator,
    NodeRunner,
    assert_final_object,
    assert_progress_trace,
    ok,
    open_uploads,
    temporary_credentials,
)

from emulator.credentials import Scope

pytestmark = [pytest.mark.node]


# --------------------------------------------------------------------------------------
# STS


def test_sts_token_multipart_and_scope(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
) -> None:
    """ali-oss with ``stsToken`` (``x-oss-security-token``, signed as an x-oss header):
    a temporary credential limited to one key (as VOD's UploadAuth) can run the whole
    multipart upload of that key, and gets AccessDenied on any other key.

    EMU-OSS-024, EMU-OSS-025."""
    key = "node/sts/only-this.mp4"
    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name, key=key))
    path, data = upload_file("mp-sts.bin", MULTIPART_SIZE)
    result = ok(
        run_node("multipart.js", "--key", key, "--file", str(path),
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    assert_progress_trace(result["events"], 11)
    assert_final_object(result, data, oss2_root(bucket_name), key)

    other = run_node(
        "probe.js", "--key", "node/sts/other.mp4", "--ops", "put,multipart",
        "--multipart-file", str(path),
        bucket=bucket_name, credentials=creds,
    )  # fmt: skip
    assert other["ok"] is True
    for op in ("put", "multipart"):
        outcome = other["results"][op]
        assert outcome["ok"] is False
        assert outcome["error"]["name"] == "AccessDeniedError", outcome
        assert outcome["error"]["code"] == "AccessDenied"
        assert outcome["error"]["status"] == 403
    assert not oss2_root(bucket_name).object_exists("node/sts/other.mp4")


def test_sts_token_expired(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """An expired token: 403 SecurityTokenExpired, which the VOD SDK treats as token
    expiry (onUploadTokenExpired, sdk-semantics §4.1).

    EMU-OSS-024, EMU-OSS-006."""
    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name))
    state = node_emulator.state
    assert state.credentials.expire(creds.access_key_id, now=state.clock.now())
    result = ok(
        run_node("probe.js", "--key", "node/sts/expired.txt", "--ops", "put,head",
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    put = result["results"]["put"]
    assert put["error"]["name"] == "SecurityTokenExpiredError", put
    assert put["error"]["status"] == 403
    # HEAD has no body: the emulator's x-oss-err header carries the code.
    head = result["results"]["head"]
    assert head["error"]["name"] == "SecurityTokenExpiredError", head


# --------------------------------------------------------------------------------------
# Signature and key failures


@pytest.mark.parametrize("addressing", ["ip", "path"])
def test_wrong_secret_is_signature_does_not_match(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    addressing: str,
) -> None:
    """V1 signature check: a wrong secret gives 403 SignatureDoesNotMatch, which ali-oss
    names ``SignatureDoesNotMatchError`` (the VOD SDK's token-expiry trigger), on PUT,
    HEAD (via ``x-oss-err``), GET and at InitiateMultipartUpload.

    EMU-OSS-026, EMU-OSS-006, EMU-OSS-030."""
    key = f"node/errors/{addressing}/wrong-secret.bin"
    path, _ = upload_file(f"mp-wrong-{addressing}.bin", 3 * PART_SIZE)
    creds = Credentials(node_emulator.access_key_id, "definitely-not-the-secret")
    result = ok(
        run_node(
            "probe.js", "--key", key, "--ops", "put,head,get,multipart",
            "--multipart-file", str(path),
            bucket=bucket_name, credentials=creds, addressing=addressing,
        )
    )  # fmt: skip
    for op in ("put", "head", "get", "multipart"):
        outcome = result["results"][op]
        assert outcome["ok"] is False, (op, outcome)
        assert outcome["error"]["name"] == "SignatureDoesNotMatchError", (op, outcome)
        assert outcome["error"]["status"] == 403
        assert outcome["error"]["requestId"], (op, outcome)
    bucket = oss2_root(bucket_name)
    assert not bucket.object_exists(key)
    assert open_uploads(bucket, key) == []


def test_unknown_access_key_is_invalid_access_key_id(
    run_node: NodeRunner, bucket_name: str
) -> None:
    """EMU-OSS-026: an unknown AccessKeyId is 403 InvalidAccessKeyId."""
    creds = Credentials("LTAI5tNoSuchKeyAnywhere", "whatever")
    result = ok(
        run_node("probe.js", "--key", "node/errors/unknown-key.txt", "--ops", "put,get",
                 bucket=bucket_name, credentials=creds)
    )  # fmt: skip
    for op in ("put", "get"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "InvalidAccessKeyIdError", outcome
        assert outcome["error"]["code"] == "InvalidAccessKeyId"
        assert outcome["error"]["status"] == 403


def test_skewed_client_clock_is_request_time_too_skewed(
    run_node: NodeRunner, bucket_name: str
) -> None:
    """EMU-OSS-027: a request dated 30 minutes ahead is 403 RequestTimeTooSkewed. Node's
    ali-oss 6.23 does not correct itself (its browser build does: see
    test_ali_oss_browser.py)."""
    result = ok(
        run_node("probe.js", "--key", "node/errors/skewed.txt", "--ops", "put,head",
                 bucket=bucket_name, clock_skew_seconds=1800)
    )  # fmt: skip
    for op in ("put", "head"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "RequestTimeTooSkewedError", (op, outcome)
        assert outcome["error"]["status"] == 403


def test_missing_bucket_is_no_such_bucket(run_node: NodeRunner) -> None:
    """EMU-OSS-002: an object operation on a missing bucket is 404 NoSuchBucket."""
    result = ok(
        run_node("probe.js", "--key", "x.txt", "--ops", "put", bucket="node-no-such-bucket")
    )
    outcome = result["results"]["put"]
    assert outcome["error"]["name"] == "NoSuchBucketError", outcome
    assert outcome["error"]["status"] == 404


# --------------------------------------------------------------------------------------
# V4 signing (ali-oss ``authorizationV4: true``; the VOD JS SDK itself signs V1)


@pytest.mark.parametrize("addressing", ["ip", "path"])
def test_v4_signed_round_trip_and_multipart(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    bucket_name: str,
    oss2_root: Callable[[str], Any],
    upload_file: Callable[[str, int], tuple[Path, bytes]],
    addressing: str,
) -> None:
    """OSS4-HMAC-SHA256 from ali-oss (region from ``oss-<region>``, UNSIGNED-PAYLOAD), with
    the root key and with an STS token: small objects and a full multipart upload.

    EMU-OSS-021, EMU-OSS-024."""
    key = f"node/v4/{addressing}/hello.txt"
    basic = ok(
        run_node(
            "basic.js", "--key", key, "--stream-key", f"node/v4/{addressing}/streamed.bin",
            bucket=bucket_name, addressing=addressing, signature="v4",
        )
    )  # fmt: skip
    assert basic["get"]["matches"] is True and basic["streamed"]["matches"] is True
    assert basic["getAfterDelete"]["name"] == "NoSuchKeyError"

    creds = temporary_credentials(node_emulator, Scope(bucket=bucket_name))
    mp_key = f"node/v4/{addressing}/video.mp4"
    path, data = upload_file(f"mp-v4-{addressing}.bin", MULTIPART_SIZE)
    result = ok(
        run_node(
            "multipart.js", "--key", mp_key, "--file", str(path),
            bucket=bucket_name, addressing=addressing, signature="v4", credentials=creds,
        )
    )  # fmt: skip
    assert_progress_trace(result["events"], 11)
    assert_final_object(result, data, oss2_root(bucket_name), mp_key)


def test_v4_wrong_secret_is_signature_does_not_match(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """EMU-OSS-021, EMU-OSS-026."""
    creds = Credentials(node_emulator.access_key_id, "definitely-not-the-secret")
    result = ok(
        run_node(
            "probe.js", "--key", "node/v4/wrong.txt", "--ops", "put,head,get",
            bucket=bucket_name, credentials=creds, signature="v4",
        )
    )  # fmt: skip
    for op in ("put", "head", "get"):
        outcome = result["results"][op]
        assert outcome["error"]["name"] == "SignatureDoesNotMatchError", (op, outcome)
        assert outcome["error"]["status"] == 403
