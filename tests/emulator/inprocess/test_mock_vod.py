"""In-process mode: emulator.mock_vod() serves every SDK without a socket."""

from __future__ import annotations

import base64
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss_v2
import oss2
import pytest
import requests
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_vod20170321 import models as vod_models
from alibabacloud_vod20170321.client import Client as TeaVodClient
from aliyunsdkcore.acs_exception.exceptions import ClientException
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401 import AssumeRoleRequest
from aliyunsdkvod.request.v20170321 import CreateUploadVideoRequest
from voduploadsdk.AliyunVodUploader import AliyunVodUploader
from voduploadsdk.UploadVideoRequest import UploadVideoRequest

import emulator
from emulator.config import EmulatorConfig
from emulator.control import Client
from emulator.faults import Effect, Match
from emulator.inprocess import EMULATOR_URL, MockVod
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


@pytest.fixture
def vod() -> Iterator[MockVod]:
    with emulator.mock_vod() as mocked:
        yield mocked


def acs_client(vod: MockVod) -> AcsClient:
    return AcsClient(vod.access_key_id, vod.access_key_secret, vod.region, auto_retry=False)


def test_oss2_path_style_and_virtual_hosted(vod: MockVod, vod_oss2_session: oss2.Session) -> None:
    """EMU-INP-001: oss2 reaches the in-process emulator in both addressing styles."""
    auth = oss2.Auth(vod.access_key_id, vod.access_key_secret)
    path_style = oss2.Bucket(auth, vod.url, "inproc", is_path_style=True, session=vod_oss2_session)
    path_style.create_bucket()
    path_style.put_object("a/b.txt", b"hello")
    virtual = oss2.Bucket(auth, vod.url, "inproc", session=vod_oss2_session)
    assert virtual.get_object("a/b.txt").read() == b"hello"
    assert vod.state.oss.get_bucket("inproc").name == "inproc"
    assert vod.url == EMULATOR_URL and vod.host in vod.url


@pytest.mark.parametrize("use_path_style", [True, False])
def test_alibabacloud_oss_v2(vod: MockVod, use_path_style: bool) -> None:
    """EMU-INP-001: alibabacloud-oss-v2 (V4 signatures) works in-process."""
    config = oss_v2.config.load_default()
    config.credentials_provider = oss_v2.credentials.StaticCredentialsProvider(
        vod.access_key_id, vod.access_key_secret
    )
    config.region = vod.region
    config.endpoint = vod.url
    config.use_path_style = use_path_style
    client = oss_v2.Client(config)
    client.put_bucket(oss_v2.PutBucketRequest(bucket="v2-inproc"))
    put = client.put_object(oss_v2.PutObjectRequest(bucket="v2-inproc", key="k", body=b"v2"))
    assert put.status_code == 200
    got = client.get_object(oss_v2.GetObjectRequest(bucket="v2-inproc", key="k"))
    assert got.body.read() == b"v2"


def test_aliyunsdkcore_vod_and_sts_and_the_tea_client(vod: MockVod) -> None:
    """EMU-INP-001: aliyunsdkcore's vendored requests is intercepted too, https included
    (STS requests force it), and the tea clients go through standard requests."""
    client = acs_client(vod)
    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("in-process")
    create.set_FileName("movie.mp4")
    create.set_endpoint(vod.host)
    video = json.loads(client.do_action_with_exception(create))
    address = json.loads(base64.b64decode(video["UploadAddress"]))
    assert address["Endpoint"] == vod.url
    assume = AssumeRoleRequest.AssumeRoleRequest()
    assume.set_RoleArn("acs:ram::1234567890123456:role/vod-uploader")
    assume.set_RoleSessionName("inproc")
    assume.set_endpoint(vod.host)  # AssumeRoleRequest forces https: fine in-process
    credentials = json.loads(client.do_action_with_exception(assume))["Credentials"]
    assert credentials["AccessKeyId"].startswith("STS.")
    tea = TeaVodClient(
        openapi_models.Config(
            access_key_id=vod.access_key_id,
            access_key_secret=vod.access_key_secret,
            endpoint=vod.host,
            protocol="http",
            region_id=vod.region,
        )
    )
    answer = tea.create_upload_video(
        vod_models.CreateUploadVideoRequest(title="tea", file_name="tea.mp4")
    )
    assert len(vod.state.vod.dump()["videos"]) == 2 and answer.body.video_id
    client.session.close()


def test_voduploadsdk_unmodified_via_aliyuncs_interception(
    vod: MockVod, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """EMU-INP-001: hard-coded *.aliyuncs.com hosts (voduploadsdk) are served in-process."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(150_000))
    uploader = AliyunVodUploader(vod.access_key_id, vod.access_key_secret)
    uploader.setMultipartUpload(multipartThreshold=120 * 1024, multipartPartSize=100 * 1024)
    result = uploader.uploadLocalVideo(UploadVideoRequest(str(path), "intercepted"))
    [video] = vod.control.state()["vod"]["videos"]
    assert video["video_id"] == result["VideoId"] and video["size"] == 150_000
    assert "Finish" in capsys.readouterr().out


def test_decorator_form_gets_a_fresh_emulator_per_call(vod_oss2_session: oss2.Session) -> None:
    """EMU-INP-001: @mock_vod() wraps a function; each call starts from empty state."""
    auth = oss2.Auth(EmulatorConfig().access_key_id, EmulatorConfig().access_key_secret)

    @emulator.mock_vod()
    def create_then_count() -> int:
        bucket = oss2.Bucket(
            auth, EMULATOR_URL, "deco", is_path_style=True, session=vod_oss2_session
        )
        bucket.create_bucket()
        bucket.put_object("k", b"x")
        return len(Client(EMULATOR_URL).state()["oss"]["buckets"])

    assert create_then_count() == 1
    assert create_then_count() == 1  # not 2: a fresh state each time


def test_mock_serves_a_given_state_and_cannot_be_entered_twice(tmp_path: Path) -> None:
    """EMU-INP-001: mock_vod(state=...) serves that state (a data directory, say)."""
    state = EmulatorState(EmulatorConfig(data_dir=tmp_path, fsync=False))
    mock = emulator.mock_vod(state=state)
    with mock as vod:
        assert vod.state is state
        vod.control.freeze(1_750_000_000)
        with pytest.raises(RuntimeError):
            mock.__enter__()
    assert state.clock.now() == 1_750_000_000


def test_other_hosts_pass_through_to_the_network(
    vod: MockVod, vod_oss2_session: oss2.Session
) -> None:
    """EMU-INP-001: while mocked, a socket emulator (or any other URL) is reached as usual."""
    other = EmulatorState()
    with ThreadedServer(other) as server:
        auth = oss2.Auth(other.config.access_key_id, other.config.access_key_secret)
        bucket = oss2.Bucket(auth, server.url, "real-socket", session=vod_oss2_session)
        bucket.create_bucket()
    assert other.oss.get_bucket("real-socket").name == "real-socket"
    assert vod.state.oss.list_buckets() == []


def test_transport_faults_become_the_vendored_requests_exceptions(vod: MockVod) -> None:
    """EMU-INP-002: aliyunsdkcore meets a reset or a timeout as its own SDK.HttpError."""
    client = acs_client(vod)
    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("faulty")
    create.set_FileName("movie.mp4")
    create.set_endpoint(vod.host)
    vod.control.add_fault(effect=Effect.reset_before_body(), match=Match(service="vod"), times=1)
    with pytest.raises(ClientException) as reset:
        client.do_action_with_exception(create)
    assert reset.value.get_error_code() == "SDK.HttpError"
    assert "Connection reset" in reset.value.get_error_msg()
    create.set_read_timeout(0.2)
    vod.control.add_fault(effect=Effect.stall(1.0), match=Match(service="vod"), times=1)
    with pytest.raises(ClientException, match="timed out"):
        client.do_action_with_exception(create)
    client.session.close()


def test_requests_exceptions_for_standard_requests(vod: MockVod) -> None:
    """EMU-INP-002: plain requests users see ConnectionError / ReadTimeout as on a socket."""
    vod.control.add_fault(effect=Effect.drop_after_commit(), match=Match(service="oss"), times=1)
    vod.control.add_fault(effect=Effect.delay(1.0), match=Match(service="oss"), times=1)
    with requests.Session() as session:
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{vod.url}/")
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(f"{vod.url}/", timeout=(1.0, 0.2))
        assert session.get(f"{vod.url}/").status_code == 403  # unsigned: AccessDenied


def test_request_bodies_are_not_retained(vod: MockVod, vod_oss2_session: oss2.Session) -> None:
    """EMU-INP-001: a long in-process upload does not keep every request body in memory
    (responses records every call; the mock drops them as it goes)."""
    auth = oss2.Auth(vod.access_key_id, vod.access_key_secret)
    bucket = oss2.Bucket(auth, vod.url, "memory", is_path_style=True, session=vod_oss2_session)
    bucket.create_bucket()
    tracemalloc.start()
    try:
        for _ in range(10):
            # A new body each time; the store keeps only the latest object.
            bucket.put_object("same-key", os.urandom(4 * 1024 * 1024))
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 20 * 1024 * 1024  # 10 retained bodies would be 40 MiB
