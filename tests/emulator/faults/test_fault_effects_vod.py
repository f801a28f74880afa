"""Fault effects on VOD and STS calls, through aliyunsdkcore, in both modes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import CreateUploadVideoRequest, GetVideoInfoRequest

from emulator.faults import Effect, Match
from emulator.pytest_plugin import EmulatorEndpoint


@pytest.fixture
def client(vod_emulator_each_mode: EmulatorEndpoint) -> Iterator[AcsClient]:
    emu = vod_emulator_each_mode
    made = AcsClient(emu.access_key_id, emu.access_key_secret, emu.region, auto_retry=False)
    yield made
    made.session.close()


def create_request(emu: EmulatorEndpoint) -> CreateUploadVideoRequest.CreateUploadVideoRequest:
    request = CreateUploadVideoRequest.CreateUploadVideoRequest()
    request.set_Title("faulty")
    request.set_FileName("movie.mp4")
    request.set_endpoint(urlsplit(emu.url).netloc)
    return request


def test_error_effect_is_a_vod_json_error(
    vod_emulator_each_mode: EmulatorEndpoint, client: AcsClient
) -> None:
    """EMU-FLT-004: an injected VOD error is the JSON error aliyunsdkcore parses into a
    ServerException with that code and status; no video was created."""
    emu = vod_emulator_each_mode
    emu.control.add_fault(
        effect=Effect.error(503, "ServiceUnavailable", "The request has failed."),
        match=Match(service="vod", operation="CreateUploadVideo"),
        times=1,
    )
    with pytest.raises(ServerException) as raised:
        client.do_action_with_exception(create_request(emu))
    assert raised.value.get_http_status() == 503
    assert raised.value.get_error_code() == "ServiceUnavailable"
    assert emu.control.state()["vod"]["videos"] == []
    video = json.loads(client.do_action_with_exception(create_request(emu)))
    info = GetVideoInfoRequest.GetVideoInfoRequest()
    info.set_VideoId(video["VideoId"])
    info.set_endpoint(urlsplit(emu.url).netloc)
    assert json.loads(client.do_action_with_exception(info))["Video"]["Title"] == "faulty"


@pytest.mark.parametrize("effect", [Effect.reset_after_body(), Effect.drop_after_commit()])
def test_transport_effects_are_sdk_http_errors(
    vod_emulator_each_mode: EmulatorEndpoint, client: AcsClient, effect: Effect
) -> None:
    """EMU-FLT-005, EMU-FLT-009: a reset is SDK.HttpError with nothing created; a dropped
    answer is SDK.HttpError with the video created (the ambiguous call)."""
    emu = vod_emulator_each_mode
    emu.control.add_fault(effect=effect, match=Match(service="vod"), times=1)
    with pytest.raises(ClientException) as raised:
        client.do_action_with_exception(create_request(emu))
    assert raised.value.get_error_code() == "SDK.HttpError"
    videos = emu.control.state()["vod"]["videos"]
    assert len(videos) == (1 if effect == Effect.drop_after_commit() else 0)
