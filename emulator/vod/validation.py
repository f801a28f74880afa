"""VOD's parameter rules (limits, extensions, allowed values), as the API reference states.

Each function raises the documented error or returns the normalised value; none touches
state, so the model can validate a whole request before it writes anything.
"""

from __future__ import annotations

import json
import posixpath

from emulator.vod.exceptions import (
    IllegalCharacters,
    InvalidFileNameExtension,
    InvalidParameter,
    LengthExceededMax,
    TagsExceededMax,
)

TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 1024
USER_DATA_MAX_BYTES = 1024
FILE_NAME_MAX_BYTES = 1024
TAGS_MAX = 16
TAG_MAX_BYTES = 32
IDS_PER_CALL_MAX = 20
CATE_IDS_MAX = 5

# Audio and video containers VOD accepts for CreateUploadVideo (its "supported formats").
VIDEO_EXTENSIONS = frozenset(
    {
        # video
        "3gp", "asf", "avi", "dat", "dv", "f4v", "flv", "gif", "m2t", "m2ts", "m3u8",
        "m4v", "mj2", "mjpeg", "mkv", "mov", "mp4", "mpe", "mpeg", "mpg", "mpd", "mts",
        "mxf", "ogg", "qt", "rm", "rmvb", "swf", "ts", "vob", "webm", "wmv",
        # audio
        "aac", "ac3", "acm", "amr", "ape", "caf", "flac", "m4a", "mp3", "ra", "wav",
        "wma", "aiff",
    }
)  # fmt: skip
IMAGE_TYPES = frozenset({"default", "cover"})
IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif"})
DEFAULT_IMAGE_EXTENSION = "png"
ATTACHED_MEDIA_EXTENSIONS = {
    "watermark": frozenset({"png", "gif", "apng", "mov"}),
    "subtitle": frozenset({"srt", "ass", "stl", "ttml", "vtt"}),
    "material": frozenset({"jpg", "gif", "png", "mp4", "mat", "zip", "apk"}),
}
DEFAULT_APP_ID = "app-1000000"


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def check_text(name: str, value: str, *, max_bytes: int) -> str:
    """Free text (Title, Description): bounded, no control characters, no emoji.

    VOD documents ``IllegalCharacters`` for emoji in titles; characters outside the Basic
    Multilingual Plane (where emoji live) and ASCII control characters are refused.
    """
    if any(ord(ch) > 0xFFFF or (ord(ch) < 0x20 and ch not in "\t\n\r") for ch in value):
        raise IllegalCharacters(name)
    if _utf8_length(value) > max_bytes:
        raise LengthExceededMax(name, max_bytes)
    return value


def check_tags(value: str) -> str:
    """Comma-separated tags: at most 16, each at most 32 bytes; blanks are dropped."""
    tags = [tag.strip() for tag in value.split(",") if tag.strip()]
    if len(tags) > TAGS_MAX:
        raise TagsExceededMax(TAGS_MAX)
    for tag in tags:
        check_text("Tags", tag, max_bytes=TAG_MAX_BYTES)
    return ",".join(tags)


def check_title_description_tags(title: str, description: str, tags: str) -> str:
    """Title, Description and Tags, checked in that order (the first failure is the error);
    returns the normalised tags."""
    check_text("Title", title, max_bytes=TITLE_MAX_BYTES)
    check_text("Description", description, max_bytes=DESCRIPTION_MAX_BYTES)
    return check_tags(tags)


def check_user_data(value: str) -> str:
    """UserData is a JSON object (MessageCallback, Extend, ...), at most 1024 bytes."""
    if _utf8_length(value) > USER_DATA_MAX_BYTES:
        raise LengthExceededMax("UserData", USER_DATA_MAX_BYTES)
    try:
        parsed = json.loads(value)
    except ValueError:
        raise InvalidParameter("UserData", "It must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise InvalidParameter("UserData", "It must be a JSON object.")
    return value


def base_name(file_name: str) -> str:
    """The last component of a file name or local path (POSIX or Windows separators)."""
    return posixpath.basename(file_name.replace("\\", "/"))


def extension_of(file_name: str) -> str:
    """The lower-case extension of a file name or local path ('' when there is none)."""
    base = base_name(file_name)
    stem, dot, extension = base.rpartition(".")
    return extension.lower() if dot and stem else ""


def check_video_file_name(file_name: str) -> str:
    """The extension of a video FileName, which must be an audio/video container.

    Only the length is limited: VOD documents no character rule for file names (unlike
    titles), and refusing a name a real upload would accept is the worse mistake.
    """
    if _utf8_length(file_name) > FILE_NAME_MAX_BYTES:
        raise LengthExceededMax("FileName", FILE_NAME_MAX_BYTES)
    extension = extension_of(file_name)
    if extension not in VIDEO_EXTENSIONS:
        raise InvalidFileNameExtension(file_name)
    return extension


def check_image(image_type: str, image_ext: str | None) -> tuple[str, str]:
    if image_type not in IMAGE_TYPES:
        raise InvalidParameter("ImageType", f"Valid values: {', '.join(sorted(IMAGE_TYPES))}.")
    extension = (image_ext or DEFAULT_IMAGE_EXTENSION).lower()
    if extension not in IMAGE_EXTENSIONS:
        raise InvalidParameter("ImageExt", f"Valid values: {', '.join(sorted(IMAGE_EXTENSIONS))}.")
    return image_type, extension


def check_attached_media(business_type: str, media_ext: str | None, file_name: str | None) -> str:
    """The extension of an attached media file, from MediaExt or else from FileName."""
    allowed = ATTACHED_MEDIA_EXTENSIONS.get(business_type)
    if allowed is None:
        raise InvalidParameter(
            "BusinessType", f"Valid values: {', '.join(sorted(ATTACHED_MEDIA_EXTENSIONS))}."
        )
    extension = (media_ext or (extension_of(file_name) if file_name else "")).lower()
    if not extension:
        raise InvalidParameter("MediaExt", "Give MediaExt or a FileName with an extension.")
    if extension not in allowed:
        raise InvalidParameter(
            "MediaExt", f"Valid values for {business_type}: {', '.join(sorted(allowed))}."
        )
    return extension


def split_ids(name: str, value: str, *, limit: int = IDS_PER_CALL_MAX) -> list[str]:
    """A comma-separated id list (VideoIds, CateIds), without blanks or duplicates."""
    ids: list[str] = []
    for raw_item in value.split(","):
        item = raw_item.strip()
        if item and item not in ids:
            ids.append(item)
    if not ids:
        raise InvalidParameter(name, "It must list at least one id.")
    if len(ids) > limit:
        raise InvalidParameter(name, f"It may list at most {limit} ids.")
    return ids
