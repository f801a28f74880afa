"""Helpers for the control-plane tests: VOD calls and UploadAuth-based OSS buckets.

Both work against either mode of ``vod_emulator_each_mode``: aliyunsdkcore is pointed at
the endpoint's host with ``set_endpoint``, and oss2 at the ``UploadAddress`` the emulator
returns.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import oss2
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import RpcRequest
from aliyunsdkvod.request.v20170321 import CreateUploadVideoRequest, RefreshUploadVideoRequest

from emulator.pytest_plugin import EmulatorEndpoint


@dataclass
class UploadTarget:
    video_id: str
    access_key_id: str
    bucket: oss2.Bucket
    key: str


class VodApi:
    def __init__(self, emu: EmulatorEndpoint, session: oss2.Session) -> None:
        self.emu = emu
        self.session = session
        self.client = AcsClient(
            emu.access_key_id, emu.access_key_secret, emu.region, auto_retry=False
        )
        self.netloc = urlsplit(emu.url).netloc

    def call(self, request: RpcRequest) -> dict[str, Any]:
        request.set_endpoint(self.netloc)
        result: dict[str, Any] = json.loads(self.client.do_action_with_exception(request))
        return result

    def _target(self, video_id: str, answer: dict[str, Any]) -> UploadTarget:
        auth = json.loads(base64.b64decode(answer["UploadAuth"]))
        address = json.loads(base64.b64decode(answer["UploadAddress"]))
        sts = oss2.StsAuth(auth["AccessKeyId"], auth["AccessKeySecret"], auth["SecurityToken"])
        bucket = oss2.Bucket(sts, address["Endpoint"], address["Bucket"], session=self.session)
        return UploadTarget(
            video_id=video_id,
            access_key_id=auth["AccessKeyId"],
            bucket=bucket,
            key=address["FileName"],
        )

    def create_upload_video(self, file_name: str = "movie.mp4") -> UploadTarget:
        request = CreateUploadVideoRequest.CreateUploadVideoRequest()
        request.set_Title("a test video")
        request.set_FileName(file_name)
        answer = self.call(request)
        return self._target(answer["VideoId"], answer)

    def refresh_upload_video(self, video_id: str) -> UploadTarget:
        request = RefreshUploadVideoRequest.RefreshUploadVideoRequest()
        request.set_VideoId(video_id)
        answer = self.call(request)
        return self._target(video_id, answer)
