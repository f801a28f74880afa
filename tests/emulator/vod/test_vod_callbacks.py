"""VOD event notifications delivered over HTTP to a real receiver on 127.0.0.1.

SetMessageCallback/GetMessageCallback through aliyunsdkvod, the events of an upload's
lifecycle, VOD's callback signature, retries, the loopback-only rule and the control
plane's view of deliveries. Both modes (socket and in-process): the emulator delivers with
the standard library, so a callback reaches the receiver either way.
Requirements: specs/emulator-vod-sts.md §2 (EMU-VOD-023..EMU-VOD-029).
"""

from __future__ import annotations

import hashlib
import json

from aliyunsdkvod.request.v20170321.CreateUploadImageRequest import CreateUploadImageRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from aliyunsdkvod.request.v20170321.DeleteMessageCallbackRequest import (
    DeleteMessageCallbackRequest,
)
from aliyunsdkvod.request.v20170321.GetMessageCallbackRequest import GetMessageCallbackRequest
from aliyunsdkvod.request.v20170321.SetMessageCallbackRequest import SetMessageCallbackRequest
from support.callbacks import Receiver, callback_receiver
from support.rpc import RunningEmulator, Upload, core_call, core_client, core_error

AUTH_KEY = "Secret1234Key"


def set_callback(emulator: RunningEmulator, url: str, **extra: str) -> None:
    request = SetMessageCallbackRequest()
    request.set_CallbackType("HTTP")
    request.set_CallbackURL(url)
    for name, value in extra.items():
        getattr(request, f"set_{name}")(value)
    core_call(core_client(emulator), request)


def upload_video(emulator: RunningEmulator, *, user_data: str | None = None) -> str:
    request = CreateUploadVideoRequest()
    request.set_Title("notify me")
    request.set_FileName("clip.mp4")
    if user_data is not None:
        request.set_UserData(user_data)
    response = core_call(core_client(emulator), request)
    upload = Upload.from_response(response)
    upload.bucket(emulator).put_object(upload.key, b"0123456789")
    video_id: str = response["VideoId"]
    return video_id


def expected_signature(url: str, timestamp: str, key: str) -> str:
    text = f"{url}|{timestamp}|{key}"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_message_callback_round_trip(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-026: Set, Get, Delete; validation before anything is stored."""
    set_callback(
        rpc_emulator,
        "http://127.0.0.1:9/cb",
        EventTypeList="FileUploadComplete,TranscodeComplete",
        AuthSwitch="on",
        AuthKey=AUTH_KEY,
    )
    got = core_call(core_client(rpc_emulator), GetMessageCallbackRequest())["MessageCallback"]
    assert got == {
        "AppId": "app-1000000",
        "CallbackType": "HTTP",
        "CallbackURL": "http://127.0.0.1:9/cb",
        "EventTypeList": "FileUploadComplete,TranscodeComplete",
        "AuthSwitch": "on",
        "AuthKey": AUTH_KEY,
    }
    weak = SetMessageCallbackRequest()
    weak.set_CallbackURL("http://127.0.0.1:9/other")
    weak.set_AuthSwitch("on")
    weak.set_AuthKey("short")
    assert core_error(core_client(rpc_emulator), weak).get_error_code() == "InvalidParameter"
    unknown = SetMessageCallbackRequest()
    unknown.set_CallbackURL("http://127.0.0.1:9/other")
    unknown.set_EventTypeList("NoSuchEvent")
    assert core_error(core_client(rpc_emulator), unknown).get_error_code() == "InvalidParameter"
    kept = core_call(core_client(rpc_emulator), GetMessageCallbackRequest())["MessageCallback"]
    assert kept["CallbackURL"] == "http://127.0.0.1:9/cb"
    core_call(core_client(rpc_emulator), DeleteMessageCallbackRequest())
    assert "MessageCallback" not in core_call(
        core_client(rpc_emulator), GetMessageCallbackRequest()
    )


def test_upload_lifecycle_events_arrive_signed(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-023, EMU-VOD-024: FileUploadComplete, StreamTranscodeComplete and
    TranscodeComplete, each POSTed as JSON with X-VOD-TIMESTAMP and X-VOD-SIGNATURE;
    EMU-VOD-029: the control plane shows them, never the key."""
    with callback_receiver() as receiver:
        set_callback(rpc_emulator, receiver.url, AuthSwitch="on", AuthKey=AUTH_KEY)
        video_id = upload_video(rpc_emulator, user_data=json.dumps({"Extend": {"job": 7}}))
        received = receiver.wait_for(3)
    assert receiver.events() == [
        "FileUploadComplete",
        "StreamTranscodeComplete",
        "TranscodeComplete",
    ]
    upload, stream, done = (item.body for item in received)
    assert upload["VideoId"] == video_id and upload["Status"] == "success"
    assert upload["Size"] == 10 and upload["FileUrl"].endswith(".mp4")
    assert upload["Extend"] == json.dumps({"job": 7})
    assert (stream["Definition"], stream["Format"], stream["Status"]) == ("OD", "mp4", "success")
    assert done["StreamInfos"][0]["Definition"] == "OD"
    for item in received:
        assert item.path == "/vod/callback"
        timestamp = item.headers["X-VOD-TIMESTAMP"]
        assert item.headers["X-VOD-SIGNATURE"] == expected_signature(
            receiver.url, timestamp, AUTH_KEY
        )
        assert item.headers["Content-Type"] == "application/json"
    records = _settled(rpc_emulator, 3)
    assert [r["status"] for r in records] == ["delivered"] * 3
    # The control plane and the state dump never show the AuthKey or a signature.
    dumped = json.dumps(rpc_emulator.control.state())
    assert AUTH_KEY not in dumped
    assert received[0].headers["X-VOD-SIGNATURE"] not in dumped


def test_failed_delivery_is_retried_then_given_up(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-024: only 200 counts; three attempts in all, spaced on the emulator clock."""
    rpc_emulator.control.update_settings(callback_retry_delay_seconds=0.05)
    with callback_receiver(statuses=[500, 503, 200, 500, 500, 500]) as receiver:
        set_callback(rpc_emulator, receiver.url, EventTypeList="FileUploadComplete")
        upload_video(rpc_emulator)
        receiver.wait_for(3)
        upload_video(rpc_emulator)
        receiver.wait_for(6)
        records = _settled(rpc_emulator, 2)
    first, second = records
    assert first["status"] == "delivered"
    assert [a["http_status"] for a in first["attempts"]] == [500, 503, 200]
    assert second["status"] == "failed"
    assert [a["http_status"] for a in second["attempts"]] == [500, 500, 500]
    assert len(receiver.received) == 6  # nothing after the third failure


def _settled(emulator: RunningEmulator, count: int) -> list[dict[str, object]]:
    """The delivery records once none is pending (each record is completed just after
    the receiver answers, so wait for the dispatcher, not only for the receiver)."""
    assert emulator.state.vod.dispatcher.wait_settled(timeout=20)
    records = emulator.control.callbacks()
    assert len(records) == count
    return records


def test_non_loopback_targets_are_refused_without_traffic(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-025: the emulator never sends traffic off the machine."""
    set_callback(rpc_emulator, "http://callbacks.example.com/vod")
    upload_video(rpc_emulator)
    records = rpc_emulator.control.callbacks()
    assert {r["status"] for r in records} == {"refused"}
    assert all(r["attempts"] == [] for r in records)
    assert "not loopback" in str(records[0]["reason"])


def test_user_data_callback_url_overrides_per_upload(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-026: UserData.MessageCallback.CallbackURL wins for that upload, and image
    uploads send ImageUploadComplete (EMU-VOD-023)."""
    with callback_receiver() as configured, callback_receiver() as override:
        set_callback(
            rpc_emulator, configured.url, EventTypeList="FileUploadComplete,ImageUploadComplete"
        )
        user_data = json.dumps({"MessageCallback": {"CallbackURL": override.url}})
        video_id = upload_video(rpc_emulator, user_data=user_data)
        [item] = override.wait_for(1)
        assert item.body["VideoId"] == video_id
        image = CreateUploadImageRequest()
        image.set_ImageType("cover")
        answer = core_call(core_client(rpc_emulator), image)
        grant = Upload.from_response(answer)
        grant.bucket(rpc_emulator).put_object(grant.key, b"\x89PNG")
        [event] = configured.wait_for(1)
    assert event.body["EventType"] == "ImageUploadComplete"
    assert (event.body["ImageId"], event.body["Size"]) == (answer["ImageId"], 4)
    assert len(override.received) == 1


def test_callback_after_clock_advance_under_frozen_clock(
    rpc_emulator: Receiver | RunningEmulator,
) -> None:
    """EMU-VOD-020: TranscodeComplete goes out when the emulator clock reaches it."""
    assert isinstance(rpc_emulator, RunningEmulator)
    control = rpc_emulator.control
    control.freeze()
    control.update_settings(video_normal_after_seconds=30)
    with callback_receiver() as receiver:
        set_callback(rpc_emulator, receiver.url)
        upload_video(rpc_emulator)
        receiver.wait_for(1)
        assert receiver.events() == ["FileUploadComplete"]
        control.advance(30)
        receiver.wait_for(3)
    assert receiver.events()[1:] == ["StreamTranscodeComplete", "TranscodeComplete"]
