"""The application's server side, played by the suite for every subject.

A web page using the JS SDK asks its own server for an UploadAuth (CreateUploadVideo,
RefreshUploadVideo, CreateUploadImage) or for an STS token (AssumeRole); this class is
that server, pointed at the target (the emulator, or the real cloud). It signs with the
target's long-term AccessKey, which never leaves it: subjects get only what a browser
would get (UploadAuth, UploadAddress, STS credentials). Titles get the run's prefix, so
everything a run creates on the real cloud can be found and deleted.

Errors: VOD and STS failures raise :class:`vodref.errors.TransportError` (from
:class:`vodref.AcsVodApi`) or :class:`AppServerError`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vodref import AcsVodApi

__all__ = ["AppServer", "AppServerError", "Grant", "StsCredentials"]

ROLE_ARN = "acs:ram::1234567890123456:role/vodref-conformance"


class AppServerError(RuntimeError):
    """AssumeRole failed or answered something unreadable."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    upload_auth: str
    upload_address: str
    video_id: str | None = None
    image_id: str | None = None
    image_url: str | None = None

    def __repr__(self) -> str:  # the UploadAuth holds a secret
        return f"Grant(video_id={self.video_id!r}, image_id={self.image_id!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class StsCredentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expiration: str


class AppServer:
    """CreateUploadVideo / RefreshUploadVideo / CreateUploadImage / AssumeRole for a run.

    ``vod_endpoint`` is the VOD (and STS) endpoint URL, or None for the region's public
    ones. ``title_prefix`` starts every title (the run id on the real cloud)."""

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        region: str,
        vod_endpoint: str | None,
        sts_endpoint: str | None,
        title_prefix: str = "",
        role_arn: str = ROLE_ARN,
    ) -> None:
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self.region = region
        self.vod_endpoint = vod_endpoint
        self.sts_endpoint = sts_endpoint
        self.title_prefix = title_prefix
        self.role_arn = role_arn
        self._api = AcsVodApi(
            access_key_id, access_key_secret, region=region, endpoint=vod_endpoint
        )
        self._lock = threading.Lock()
        self.created_videos: list[str] = []
        self.created_images: list[str] = []
        self._session_number = 0

    @property
    def access_key_secret(self) -> str:
        """For server-side subjects that hold the long-term key themselves (voduploadsdk)."""
        return self._access_key_secret

    def title(self, title: str) -> str:
        return f"{self.title_prefix}{title}"

    def create_upload_video(self, *, title: str, file_name: str, file_size: int) -> Grant:
        grant = self._api.create_upload_video(
            title=title, file_name=file_name, file_size=file_size, extra={}
        )
        with self._lock:
            if grant.video_id:
                self.created_videos.append(grant.video_id)
        return _grant(grant)

    def refresh_upload_video(self, video_id: str) -> Grant:
        return _grant(self._api.refresh_upload_video(video_id))

    def create_upload_image(self, *, title: str, image_ext: str) -> Grant:
        grant = self._api.create_upload_image(image_ext=image_ext, title=title, extra={})
        with self._lock:
            if grant.image_id:
                self.created_images.append(grant.image_id)
        return _grant(grant)

    def note_video(self, video_id: str) -> None:
        """A video the subject created itself (STS mode), for the cleanup on the cloud."""
        with self._lock:
            if video_id not in self.created_videos:
                self.created_videos.append(video_id)

    def assume_role(self, duration_seconds: int = 900) -> StsCredentials:
        # aliyunsdkcore's CommonRequest: aliyun-python-sdk-sts is not a runtime dependency.
        from aliyunsdkcore.client import AcsClient  # noqa: PLC0415 - heavy, used here only
        from aliyunsdkcore.request import CommonRequest  # noqa: PLC0415

        with self._lock:
            self._session_number += 1
            session = f"vodref-conformance-{self._session_number}"
        client = AcsClient(
            self.access_key_id, self._access_key_secret, self.region, auto_retry=False
        )
        request = CommonRequest()
        request.set_accept_format("JSON")
        request.set_method("POST")
        request.set_version("2015-04-01")
        request.set_action_name("AssumeRole")
        if self.sts_endpoint:
            parts = urlsplit(self.sts_endpoint)
            request.set_domain(parts.netloc)
            request.set_protocol_type(parts.scheme or "https")
        else:
            request.set_domain(f"sts.{self.region}.aliyuncs.com")
            request.set_protocol_type("https")
        request.add_query_param("RoleArn", self.role_arn)
        request.add_query_param("RoleSessionName", session)
        request.add_query_param("DurationSeconds", str(duration_seconds))
        try:
            raw = client.do_action_with_exception(request)
            value: Any = json.loads(raw)
            credentials = value["Credentials"]
            return StsCredentials(
                access_key_id=credentials["AccessKeyId"],
                access_key_secret=credentials["AccessKeySecret"],
                security_token=credentials["SecurityToken"],
                expiration=str(credentials.get("Expiration", "")),
            )
        except Exception as error:
            code = getattr(error, "error_code", None) or type(error).__name__
            raise AppServerError(f"AssumeRole failed: {code}") from None
        finally:
            session_object = getattr(client, "session", None)
            if session_object is not None:
                session_object.close()

    def close(self) -> None:
        self._api.close()


def _grant(grant: Any) -> Grant:
    return Grant(
        upload_auth=grant.upload_auth,
        upload_address=grant.upload_address,
        video_id=grant.video_id,
        image_id=grant.image_id,
        image_url=grant.image_url,
    )
