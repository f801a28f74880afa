"""Finding 6 (issue 9): a 500 and missing answers for malformed requests.

Every malformed request gets a 4xx in the service's own format (OSS XML, RPC JSON, the
control plane's JSON), numbers are parsed as the protocols define them (ASCII digits,
bounded length), and the server stays up. Real socket; oss2 where a client is involved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import oss2
import pytest
from support.rpc import RunningEmulator
from support.security import http_request, json_body, raw_exchange, rpc_v1_query, status_of

FIVE_THOUSAND_DIGITS = "9" * 5000


@pytest.fixture
def bucket(served: RunningEmulator) -> Iterator[oss2.Bucket]:
    auth = oss2.Auth(served.access_key_id, served.access_key_secret)
    bucket = oss2.Bucket(auth, served.url, "malformed", session=served.oss_session)
    bucket.create_bucket()
    bucket.put_object("k", b"0123456789")
    yield bucket


def _oss_error(raised: pytest.ExceptionInfo[oss2.exceptions.OssError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


@pytest.mark.parametrize(
    "part_number", [FIVE_THOUSAND_DIGITS, "\u0663", "\u00b9", "1_0", "+1", "0", "10001"]
)
def test_complete_with_a_malformed_part_number_is_400(
    bucket: oss2.Bucket, part_number: str
) -> None:
    """EMU-SEC-010: a 5,000-digit PartNumber in the Complete XML used to be a 500; other
    scripts' digits, signs, spaces and underscores are no number either: 400
    InvalidArgument, and the upload is still open."""
    upload_id = bucket.init_multipart_upload("multi").upload_id
    etag = bucket.upload_part("multi", upload_id, 1, b"part").etag
    body = (
        f"<CompleteMultipartUpload><Part><PartNumber>{part_number}</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket._do(  # oss2's own signed request path, with a hand-written body
            "POST", "malformed", "multi", params={"uploadId": upload_id}, data=body
        )
    assert _oss_error(raised) == (400, "InvalidArgument")
    assert [p.part_number for p in bucket.list_parts("multi", upload_id).parts] == [1]


@pytest.mark.parametrize("part_number", ["\u0663", "\u00b9", FIVE_THOUSAND_DIGITS, "\uff11"])
def test_upload_part_with_a_non_ascii_or_huge_part_number_is_400(
    bucket: oss2.Bucket, part_number: str
) -> None:
    """EMU-SEC-010: ``partNumber=\\u0663`` (ARABIC-INDIC DIGIT THREE) used to be taken as
    part 3; it, a superscript, a fullwidth digit and 5,000 digits are 400 InvalidArgument
    and store nothing."""
    upload_id = bucket.init_multipart_upload("multi").upload_id
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket._do(
            "PUT",
            "malformed",
            "multi",
            params={"uploadId": upload_id, "partNumber": part_number},
            data=b"x",
        )
    assert _oss_error(raised) == (400, "InvalidArgument")
    assert bucket.list_parts("multi", upload_id).parts == []


@pytest.mark.parametrize("value", ["\u0663", FIVE_THOUSAND_DIGITS, "1_0"])
def test_list_parameters_take_ascii_numbers_only(bucket: oss2.Bucket, value: str) -> None:
    """EMU-SEC-010: ``max-keys`` of another script, with an underscore or of 5,000 digits
    is 400 InvalidArgument, not 3, 10 or a 500."""
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.list_objects(max_keys=value)  # type: ignore[arg-type]
    assert _oss_error(raised) == (400, "InvalidArgument")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes=0-{FIVE_THOUSAND_DIGITS}", (206, b"0123456789")),
        (f"bytes={FIVE_THOUSAND_DIGITS}-", (200, b"0123456789")),
        (f"bytes=-{FIVE_THOUSAND_DIGITS}", (206, b"0123456789")),
        ("bytes=2-\u00b9", (200, b"0123456789")),
    ],
)
def test_huge_or_foreign_range_bounds_never_fail(
    bucket: oss2.Bucket, header: str, expected: tuple[int, bytes]
) -> None:
    """EMU-SEC-010: a Range bound too long for any offset counts as beyond the end; a
    bound in another script makes the Range invalid, which OSS ignores (200)."""
    result = bucket.get_object("k", headers={"Range": header})
    assert (result.status, result.read()) == expected


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deeply_nested_control_json_is_400(served: RunningEmulator, depth: int) -> None:
    """EMU-SEC-010: deeply nested JSON to the control plane used to get no status line;
    it is 400 MalformedJSON (or a 400 of the operation for shallow nesting), JSON in the
    control plane's format, and the emulator goes on."""
    body = b"[" * depth + b"]" * depth
    status, headers, answer = http_request(
        served.url,
        "POST",
        "/_emulator/faults",
        headers={"Content-Type": "application/json"},
        body=body,
    )
    assert status == 400, answer[:200]
    assert headers["content-type"] == "application/json"
    assert json_body(answer)["error"]["code"] in ("MalformedJSON", "InvalidFault")
    assert http_request(served.url, "GET", "/_emulator/health")[0] == 200


def test_rpc_integer_parameters_take_ascii_numbers_only(served: RunningEmulator) -> None:
    """EMU-SEC-010: an RPC integer parameter (FileSize) of another script is 400
    InvalidParameter in RPC JSON."""
    for value in ("\u0663", "1_0", FIVE_THOUSAND_DIGITS):
        query = rpc_v1_query(
            served.access_key_id,
            served.access_key_secret,
            "CreateUploadVideo",
            Title="t",
            FileName="a.mp4",
            FileSize=value,
        )
        status, _, body = http_request(served.url, "POST", "/?" + query)
        assert (status, json_body(body)["Code"]) == (400, "InvalidParameter")
    assert served.state.vod.dump()["videos"] == []


def test_raw_garbage_request_line_gets_an_oss_error(served: RunningEmulator) -> None:
    """EMU-SEC-010: a request line that is no HTTP gets a 400 with an OSS error body."""
    reply = raw_exchange(served.url, b"\x16\x03\x01\x02\x00 garbage\r\n\r\n")
    assert status_of(reply) == 400
    assert b"<Code>" in reply
    assert json.loads(http_request(served.url, "GET", "/_emulator/health")[2])["status"] == "ok"


@pytest.mark.parametrize("position", ["\u00b9", "\u0663", FIVE_THOUSAND_DIGITS, "-1"])
def test_append_position_takes_ascii_numbers_only(bucket: oss2.Bucket, position: str) -> None:
    """EMU-SEC-010: AppendObject's ``position`` of another script, a superscript, a sign
    or 5,000 digits is 400 InvalidArgument, never a 500; nothing is appended."""
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket._do(
            "POST", "malformed", "appended", params={"append": "", "position": position}, data=b"x"
        )
    assert _oss_error(raised) == (400, "InvalidArgument")
    assert not bucket.object_exists("appended")


@pytest.mark.parametrize("bound", ["\u00b9", FIVE_THOUSAND_DIGITS])
def test_copy_source_range_takes_ascii_numbers_only(bucket: oss2.Bucket, bound: str) -> None:
    """EMU-SEC-010: UploadPartCopy's ``x-oss-copy-source-range`` with a superscript or
    5,000-digit bound is 400 InvalidArgument, never a 500."""
    upload_id = bucket.init_multipart_upload("copied").upload_id
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket._do(
            "PUT",
            "malformed",
            "copied",
            params={"uploadId": upload_id, "partNumber": "1"},
            headers={
                "x-oss-copy-source": "/malformed/k",
                "x-oss-copy-source-range": f"bytes=0-{bound}",
            },
        )
    assert _oss_error(raised) == (400, "InvalidArgument")
