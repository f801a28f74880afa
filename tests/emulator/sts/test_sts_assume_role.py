"""STS AssumeRole through aliyunsdkcore (RPC v1) and the tea client (ACS3), and the issued
credentials used against the emulated OSS and for signing VOD calls ("STS mode").

Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import calendar
import json
import time

import oss2
import pytest
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vod20170321 import models as vod_models
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.rpc import RunningEmulator, core_call, core_client, core_error, tea_sts, tea_vod

ACCOUNT = "1234567890123456"  # emulator.config.DEFAULT_ACCOUNT_ID
ROLE_ARN = f"acs:ram::{ACCOUNT}:role/vod-uploader"


def parse_iso(text: str) -> float:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def assume_role(
    emulator: RunningEmulator, *, duration: int | None = None, policy: str | None = None
) -> dict[str, object]:
    request = AssumeRoleRequest()
    request.set_RoleArn(ROLE_ARN)
    request.set_RoleSessionName("session-1")
    if duration is not None:
        request.set_DurationSeconds(duration)
    if policy is not None:
        request.set_Policy(policy)
    return core_call(core_client(emulator), request)


def test_assume_role_through_aliyunsdkcore(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-001, EMU-STS-003: documented keys, default duration from the settings."""
    before = time.time()
    answer = assume_role(rpc_emulator)
    assert set(answer) == {"RequestId", "AssumedRoleUser", "Credentials"}
    user = answer["AssumedRoleUser"]
    assert isinstance(user, dict)
    assert user["Arn"] == f"{ROLE_ARN}/session-1"
    role_id, _, session = user["AssumedRoleId"].partition(":")
    assert role_id.isdigit() and session == "session-1"
    credentials = answer["Credentials"]
    assert isinstance(credentials, dict)
    assert set(credentials) == {"SecurityToken", "AccessKeyId", "AccessKeySecret", "Expiration"}
    assert credentials["AccessKeyId"].startswith("STS.")
    expires = parse_iso(credentials["Expiration"])
    assert before + 3600 - 5 <= expires <= time.time() + 3600 + 1


def test_assume_role_through_tea(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-001, EMU-STS-003: ACS3 signing; DurationSeconds honoured."""
    client = tea_sts(rpc_emulator)
    body = client.assume_role(
        sts_models.AssumeRoleRequest(
            role_arn=ROLE_ARN, role_session_name="s1", duration_seconds=900
        )
    ).body
    assert body.assumed_role_user.arn == f"{ROLE_ARN}/s1"
    credential = rpc_emulator.state.credentials.get(body.credentials.access_key_id)
    assert credential is not None and credential.expires_at is not None
    assert credential.expires_at - credential.issued_at == pytest.approx(900)
    assert parse_iso(body.credentials.expiration) == pytest.approx(credential.expires_at, abs=1)


@pytest.mark.parametrize("duration", [899, 43201, 0])
def test_duration_out_of_range(rpc_emulator: RunningEmulator, duration: int) -> None:
    """EMU-STS-003: 900..sts_max_ttl_seconds, else InvalidParameter.DurationSeconds."""
    request = AssumeRoleRequest()
    request.set_RoleArn(ROLE_ARN)
    request.set_RoleSessionName("s1")
    request.set_DurationSeconds(duration)
    error = core_error(core_client(rpc_emulator), request)
    assert error.get_http_status() == 400
    assert error.get_error_code() == "InvalidParameter.DurationSeconds"


def test_max_duration_follows_the_settings(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-003: the maximum is read per call (the control plane may change it)."""
    rpc_emulator.state.settings.sts_max_ttl_seconds = 1000
    assume_role(rpc_emulator, duration=1000)
    request = AssumeRoleRequest()
    request.set_RoleArn(ROLE_ARN)
    request.set_RoleSessionName("s1")
    request.set_DurationSeconds(1001)
    error = core_error(core_client(rpc_emulator), request)
    assert error.get_error_code() == "InvalidParameter.DurationSeconds"


@pytest.mark.parametrize(
    ("role_arn", "session", "status", "code"),
    [
        ("", "s1", 400, "MissingParameter"),
        ("not-an-arn", "s1", 400, "InvalidParameter.RoleArn"),
        ("acs:ram::999:role/x", "s1", 403, "NoPermission"),
        (ROLE_ARN, "", 400, "MissingParameter"),
        (ROLE_ARN, "x", 400, "InvalidParameter.RoleSessionName"),
        (ROLE_ARN, "bad name!", 400, "InvalidParameter.RoleSessionName"),
    ],
)
def test_role_arn_and_session_name_rules(
    rpc_emulator: RunningEmulator, role_arn: str, session: str, status: int, code: str
) -> None:
    """EMU-STS-002."""
    request = AssumeRoleRequest()
    if role_arn:
        request.set_RoleArn(role_arn)
    if session:
        request.set_RoleSessionName(session)
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_http_status(), error.get_error_code()) == (status, code)
    assert rpc_emulator.state.sts.dump()["credentials"] == []


def test_sts_credentials_work_on_oss_and_expire(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-004: oss2.StsAuth with AssumeRole's credentials; expiry on the emulator clock."""
    rpc_emulator.state.clock.freeze()
    rpc_emulator.state.oss.ensure_bucket("sts-bucket")
    answer = assume_role(rpc_emulator, duration=900)
    credentials = answer["Credentials"]
    assert isinstance(credentials, dict)
    auth = oss2.StsAuth(
        credentials["AccessKeyId"], credentials["AccessKeySecret"], credentials["SecurityToken"]
    )
    bucket = oss2.Bucket(auth, rpc_emulator.url, "sts-bucket", session=rpc_emulator.oss_session)
    bucket.put_object("any/key.bin", b"hello")
    assert bucket.get_object("any/key.bin").read() == b"hello"
    rpc_emulator.state.clock.advance(900)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object("any/key.bin", b"late")
    assert (raised.value.status, raised.value.code) == (403, "SecurityTokenExpired")


def test_sts_credentials_sign_vod_calls(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-004, EMU-RPC-007: STS mode for VOD, with RPC v1 and ACS3; expiry enforced."""
    rpc_emulator.state.clock.freeze()
    credentials = assume_role(rpc_emulator, duration=900)["Credentials"]
    assert isinstance(credentials, dict)
    key_id = credentials["AccessKeyId"]
    secret = credentials["AccessKeySecret"]
    token = credentials["SecurityToken"]

    core = core_client(
        rpc_emulator, access_key_id=key_id, access_key_secret=secret, security_token=token
    )
    request = CreateUploadVideoRequest()
    request.set_Title("sts mode")
    request.set_FileName("a.mp4")
    assert "VideoId" in core_call(core, request)

    tea = tea_vod(
        rpc_emulator, access_key_id=key_id, access_key_secret=secret, security_token=token
    )
    created = tea.create_upload_video(
        vod_models.CreateUploadVideoRequest(title="sts tea", file_name="b.mp4")
    ).body
    assert created.video_id

    rpc_emulator.state.clock.advance(901)
    request = CreateUploadVideoRequest()
    request.set_Title("too late")
    request.set_FileName("c.mp4")
    error = core_error(core, request)
    assert (error.get_http_status(), error.get_error_code()) == (
        400,
        "InvalidSecurityToken.Expired",
    )
    with pytest.raises(ClientException) as raised:
        tea.create_upload_video(
            vod_models.CreateUploadVideoRequest(title="late tea", file_name="d.mp4")
        )
    assert raised.value.code == "InvalidSecurityToken.Expired"


def test_policy_grammar_is_checked(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-005: malformed or oversized policies are refused."""
    for policy, code in (
        ("{not json", "InvalidParameter.PolicyGrammar"),
        (json.dumps({"Version": "2", "Statement": []}), "InvalidParameter.PolicyGrammar"),
        (json.dumps({"Version": "1", "Statement": [{"Effect": "Maybe"}]}),
         "InvalidParameter.PolicyGrammar"),
        (json.dumps({"Version": "1", "Statement": [], "Pad": "x" * 3000}),
         "InvalidParameter.PolicySize"),
    ):  # fmt: skip
        request = AssumeRoleRequest()
        request.set_RoleArn(ROLE_ARN)
        request.set_RoleSessionName("s1")
        request.set_Policy(policy)
        error = core_error(core_client(rpc_emulator), request)
        assert (error.get_http_status(), error.get_error_code()) == (400, code), policy


def test_policy_limits_oss_to_a_bucket_prefix_and_actions(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-005: a one-bucket, one-prefix Allow policy is enforced on OSS."""
    rpc_emulator.state.oss.ensure_bucket("media")
    policy = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["oss:PutObject"],
                    "Resource": ["acs:oss:*:*:media/uploads/*"],
                }
            ],
        }
    )
    credentials = assume_role(rpc_emulator, policy=policy)["Credentials"]
    assert isinstance(credentials, dict)
    auth = oss2.StsAuth(
        credentials["AccessKeyId"], credentials["AccessKeySecret"], credentials["SecurityToken"]
    )
    bucket = oss2.Bucket(auth, rpc_emulator.url, "media", session=rpc_emulator.oss_session)
    bucket.put_object("uploads/a.bin", b"ok")
    upload_id = bucket.init_multipart_upload("uploads/b.bin").upload_id  # PutObject covers it
    assert upload_id
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.put_object("elsewhere/a.bin", b"no")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.get_object("uploads/a.bin")  # GetObject was not granted


def test_dump_lists_sts_credentials_without_secrets(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-006."""
    credentials = assume_role(rpc_emulator)["Credentials"]
    assert isinstance(credentials, dict)
    dumped = rpc_emulator.state.sts.dump()["credentials"]
    assert [c["access_key_id"] for c in dumped] == [credentials["AccessKeyId"]]
    assert credentials["AccessKeySecret"] not in json.dumps(dumped)
    assert credentials["SecurityToken"] not in json.dumps(dumped)
    rpc_emulator.state.sts.reset()  # stateless: nothing to forget, must not fail


def test_assume_role_with_a_schemed_endpoint(rpc_emulator: RunningEmulator) -> None:
    """EMU-STS-001: the README's client section's alternative to set_protocol_type: an endpoint with
    ``http://`` wins over the https that AssumeRoleRequest forces."""
    client = AcsClient(
        rpc_emulator.access_key_id, rpc_emulator.access_key_secret, "cn-shanghai", auto_retry=False
    )
    rpc_emulator.closers.append(client.session.close)
    request = AssumeRoleRequest()
    request.set_endpoint(rpc_emulator.url)
    request.set_RoleArn(ROLE_ARN)
    request.set_RoleSessionName("schemed")
    answer = json.loads(client.do_action_with_exception(request))
    assert answer["AssumedRoleUser"]["Arn"] == f"{ROLE_ARN}/schemed"
