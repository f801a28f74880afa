"""A video's lifecycle on the emulator clock, as pure functions (no I/O, no clock reads).

Theory of operation. A video is ``Uploading`` until its object is first seen in OSS at
``uploaded_at``. From then on its status is a function of the elapsed emulator time and
two settings (specs/emulator-vod-sts.md, EMU-VOD-008):

    uploaded_at                 transcode_at                   normal_at
        |---- UploadSucc ----------|------ Transcoding -----------|---- Normal ...

``normal_at = uploaded_at + video_normal_after_seconds``; the Transcoding stage is the last
``video_transcoding_seconds`` of that interval (clamped to it), so the defaults (both 0)
make a video ``Normal`` as soon as it is uploaded, and a stage of length 0 is still passed
through (its events are still emitted). An injected failure replaces the stage it names:
``upload`` makes the video ``UploadFail`` at once; ``transcode`` ends transcoding in
``TranscodeFail`` instead of ``Normal``.

:func:`transitions` lists the statuses a video went through between two observations, in
order, so the caller can emit one event per step and never skip or repeat one.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.vod.records import FailureStage, VideoStatus

# Statuses a video never leaves (DeleteVideo aside).
FINAL = frozenset({VideoStatus.NORMAL, VideoStatus.UPLOAD_FAIL, VideoStatus.TRANSCODE_FAIL})
# The order a successful video walks; used to list the steps between two statuses.
_PATH = (
    VideoStatus.UPLOADING,
    VideoStatus.UPLOAD_SUCC,
    VideoStatus.TRANSCODING,
    VideoStatus.NORMAL,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The lifecycle's timing, read from the settings when a video is evaluated."""

    normal_after: float
    transcoding: float

    def __post_init__(self) -> None:
        if self.normal_after < 0 or self.transcoding < 0:
            raise ValueError("lifecycle durations must be >= 0")

    def transcode_at(self, uploaded_at: float) -> float:
        return uploaded_at + max(0.0, self.normal_after - self.transcoding)

    def normal_at(self, uploaded_at: float) -> float:
        return uploaded_at + self.normal_after


def status_at(
    *,
    uploaded_at: float | None,
    now: float,
    timeline: Timeline,
    failure: FailureStage | None,
) -> VideoStatus:
    """The status of a video at ``now``."""
    if failure is FailureStage.UPLOAD:
        return VideoStatus.UPLOAD_FAIL
    if uploaded_at is None:
        return VideoStatus.UPLOADING
    if now >= timeline.normal_at(uploaded_at):
        return (
            VideoStatus.TRANSCODE_FAIL if failure is FailureStage.TRANSCODE else VideoStatus.NORMAL
        )
    if now >= timeline.transcode_at(uploaded_at):
        return VideoStatus.TRANSCODING
    return VideoStatus.UPLOAD_SUCC


def next_change(
    *, uploaded_at: float | None, now: float, timeline: Timeline, failure: FailureStage | None
) -> float | None:
    """The emulator instant of the next status change, or None when none is scheduled
    (not uploaded yet: an upload is an outside event; or a final status)."""
    status = status_at(uploaded_at=uploaded_at, now=now, timeline=timeline, failure=failure)
    if uploaded_at is None or status in FINAL:
        return None
    if status is VideoStatus.UPLOAD_SUCC:
        return timeline.transcode_at(uploaded_at)
    return timeline.normal_at(uploaded_at)


def transitions(previous: VideoStatus, current: VideoStatus) -> list[VideoStatus]:
    """The statuses entered going from ``previous`` to ``current``, in order, excluding
    ``previous``: ``Uploading -> Normal`` is ``[UploadSucc, Transcoding, Normal]``.

    A failure status is entered from wherever the video was: ``TranscodeFail`` passes
    through ``UploadSucc`` and ``Transcoding`` first; ``UploadFail`` is entered directly.
    Going backwards is impossible and yields ``[]``.
    """
    if previous == current or previous in FINAL:
        return []
    if current is VideoStatus.UPLOAD_FAIL:
        return [current]
    target = VideoStatus.NORMAL if current is VideoStatus.TRANSCODE_FAIL else current
    start, end = _PATH.index(previous), _PATH.index(target)
    if end <= start:
        return []
    steps = list(_PATH[start + 1 : end + 1])
    if current is VideoStatus.TRANSCODE_FAIL:
        steps[-1] = VideoStatus.TRANSCODE_FAIL
    return steps
