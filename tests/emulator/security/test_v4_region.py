"""Finding 8 (issue 9): Signature V4 accepted any region in the credential scope.

Real OSS binds a V4 signature to the endpoint's region (error 0002-00000228 for the
Authorization header, 0002-00000226 for a presigned URL). The emulator now does the same
with its ``--region`` (plus any ``--extra-region``), so a client configured with the
wrong region fails here as it would in the cloud. Official SDKs, real socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from support.rpc import RunningEmulator

from emulator.config import EmulatorConfig
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

WRONG_REGIONS = ["cn-hangzhou", "oss-cn-shanghai", "CN-SHANGHAI", "us-east-1", "cn-shanghai "]


def _v4_bucket(emulator: RunningEmulator, region: str, name: str = "regional") -> oss2.Bucket:
    provider = oss2.credentials.StaticCredentialsProvider(
        emulator.access_key_id, emulator.access_key_secret
    )
    return oss2.Bucket(
        oss2.ProviderAuthV4(provider),
        emulator.url,
        name,
        region=region,
        session=emulator.oss_session,
    )


def _v2_client(emulator: RunningEmulator, region: str) -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        emulator.access_key_id, emulator.access_key_secret
    )
    cfg.region = region
    cfg.endpoint = emulator.url
    cfg.use_path_style = True
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


@pytest.fixture
def regional(served: RunningEmulator) -> Iterator[RunningEmulator]:
    _v4_bucket(served, served.state.config.region).create_bucket()
    _v4_bucket(served, served.state.config.region).put_object("k", b"v")
    yield served


@pytest.mark.parametrize("region", WRONG_REGIONS)
def test_oss2_v4_with_a_wrong_region_is_refused(regional: RunningEmulator, region: str) -> None:
    """EMU-SEC-012: oss2 ProviderAuthV4 scoped to another region: 400 InvalidArgument,
    EC 0002-00000228, and nothing is written."""
    bucket = _v4_bucket(regional, region)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object("other", b"x")
    assert (raised.value.status, raised.value.code) == (400, "InvalidArgument")
    assert raised.value.ec == "0002-00000228"
    assert "other" not in {o["key"] for o in regional.state.oss.dump()["buckets"][0]["objects"]}


@pytest.mark.parametrize("region", WRONG_REGIONS[:2])
def test_presigned_v4_url_with_a_wrong_region_is_refused(
    regional: RunningEmulator, region: str
) -> None:
    """EMU-SEC-012: a V4 presigned URL (alibabacloud-oss-v2) scoped to another region is
    refused with EC 0002-00000226; the right region is served."""
    for scope, expected in ((region, 400), (regional.state.config.region, 200)):
        presigned = _v2_client(regional, scope).presign(
            oss.GetObjectRequest(bucket="regional", key="k")
        )
        with requests.Session() as session:
            session.trust_env = False
            answer = session.get(presigned.url, timeout=10)
        assert answer.status_code == expected, answer.text
        if expected == 400:
            assert "<EC>0002-00000226</EC>" in answer.text


def test_alibabacloud_oss_v2_with_a_wrong_region_is_refused(regional: RunningEmulator) -> None:
    """EMU-SEC-012: the v2 SDK's default V4 signing with a wrong region fails; with the
    emulator's region it works."""
    with pytest.raises(oss.exceptions.OperationError) as raised:
        _v2_client(regional, "cn-hangzhou").get_object(
            oss.GetObjectRequest(bucket="regional", key="k")
        )
    cause = raised.value.unwrap()
    assert isinstance(cause, oss.exceptions.ServiceError)
    assert (cause.status_code, cause.code) == (400, "InvalidArgument")
    answer = _v2_client(regional, regional.state.config.region).get_object(
        oss.GetObjectRequest(bucket="regional", key="k")
    )
    assert answer.body.read() == b"v"


def test_extra_regions_are_accepted_when_configured() -> None:
    """EMU-SEC-012: ``EmulatorConfig(extra_regions=...)`` (CLI ``--extra-region``) widens
    the accepted list; V1 signatures carry no region and are unaffected."""
    state = EmulatorState(EmulatorConfig(region="cn-beijing", extra_regions=("cn-hangzhou",)))
    with ThreadedServer(state) as server:
        emulator = RunningEmulator(state=state, url=server.url)
        try:
            for region in ("cn-beijing", "cn-hangzhou"):
                bucket = _v4_bucket(emulator, region, name=f"b-{region}")
                bucket.create_bucket()
                bucket.put_object("k", b"v")
            with pytest.raises(oss2.exceptions.ServerError):
                _v4_bucket(emulator, "cn-shanghai", name="b-cn-beijing").get_object("k")
            v1 = oss2.Bucket(
                oss2.Auth(emulator.access_key_id, emulator.access_key_secret),
                emulator.url,
                "b-cn-beijing",
                session=emulator.oss_session,
            )
            assert v1.get_object("k").read() == b"v"
        finally:
            for close in emulator.closers:
                close()
    state.close()
