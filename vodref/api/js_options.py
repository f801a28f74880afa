"""Translating the JS SDK's options: retryCount/retryDuration, paramData, and JS spellings
of keyword names (a helpful message instead of a silently ignored typo)."""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable, Iterable
from typing import Any, cast

from ..core import InvalidOptionError, RetryPolicy, UploaderOptions

__all__ = [
    "OPTION_KEYWORDS",
    "known_options",
    "parse_param_data",
    "refuse_options_twice",
    "retry_from_js",
    "unknown_option_message",
    "user_id_text",
]


def retry_from_js(retry_count: int, retry_duration: float) -> RetryPolicy:
    """JS ``retryCount``/``retryDuration`` as the core's policy (``RetryPolicy.from_js``, the
    one mapping; UP-OPT-003). The core validates; a bad value's error names the JS option
    the caller passed as well as the policy field it feeds."""
    try:
        return RetryPolicy.from_js(retry_count=retry_count, retry_duration=retry_duration)
    except InvalidOptionError as error:
        option = "retry_count" if str(error).startswith("max_retries") else "retry_duration"
        raise InvalidOptionError(f"{option}: {error}") from None


def parse_param_data(param_data: str | dict[str, Any] | None) -> tuple[str | None, dict[str, Any]]:
    """The JS paramData (``'{"Vod": {"Title": ...}}'``) as text and its ``Vod`` dict."""
    if param_data is None:
        return None, {}
    if isinstance(param_data, dict):
        value: object = param_data
        text = json.dumps(param_data, ensure_ascii=False)
    elif isinstance(param_data, str):
        try:
            value = json.loads(param_data)
        except ValueError:
            raise InvalidOptionError("param_data must be a JSON object string") from None
        text = param_data
    else:
        raise InvalidOptionError(
            f"param_data must be a str or dict, got {type(param_data).__name__}"
        )
    if not isinstance(value, dict):
        raise InvalidOptionError("param_data must be a JSON object")
    vod = value.get("Vod", {})
    if not isinstance(vod, dict):
        raise InvalidOptionError('param_data "Vod" must be a JSON object')
    return text, dict(vod)


_JS_NAMES = {
    "userId": "user_id",
    "partSize": "part_size",
    "retryCount": "retry_count",
    "retryDuration": "retry_duration",
    "localCheckpoint": "local_checkpoint",
    "enableUploadProgress": "enable_upload_progress",
    "addFileSuccess": "add_file_success",
    "onUploadstarted": "on_upload_started",
    "onUploadStarted": "on_upload_started",
    "onUploadSucceed": "on_upload_succeed",
    "onUploadFailed": "on_upload_failed",
    "onUploadProgress": "on_upload_progress",
    "onUploadTokenExpired": "on_upload_token_expired",
    "onUploadCanceled": "on_upload_canceled",
    "onUploadEnd": "on_upload_end",
}


def unknown_option_message(unknown: Iterable[str], known: list[str]) -> str:
    hints = []
    for name in unknown:
        guess = _JS_NAMES.get(name) or next(iter(difflib.get_close_matches(name, known, n=1)), None)
        hints.append(f"{name!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
    return "unknown option " + ", ".join(hints)


def user_id_text(user_id: str | int | None) -> str | None:
    """JS accepts a numeric ``userId`` (UP-API-019): an int becomes its decimal text; any
    other value goes to UploaderOptions unchanged, which validates it (a bool is refused)."""
    if type(user_id) is int:
        return str(user_id)
    return cast("str | None", user_id)


def known_options(init: Callable[..., None]) -> list[str]:
    return [
        name
        for name, parameter in inspect.signature(init).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]


# The keywords that become UploaderOptions fields: with ``options=`` they must stay unset.
OPTION_KEYWORDS = (
    "part_size",
    "parallel",
    "max_concurrent_files",
    "multipart_threshold",
    "retry_count",
    "retry_duration",
    "retry_policy",
    "refresh_margin",
    "credentials_timeout",
    "outage_limit",
    "checkpoint_interval",
    "timeout",
    "region",
    "user_id",
    "cname",
    "local_checkpoint",
    "enable_upload_progress",
)


def refuse_options_twice(
    init: Callable[..., None], options: object, given: dict[str, object]
) -> None:
    """``options=`` is the whole, already validated set: an option keyword next to it would
    be silently ignored, so it raises instead (before anything is created)."""
    if not isinstance(options, UploaderOptions):
        raise InvalidOptionError(f"options must be UploaderOptions, got {options!r}")
    parameters = inspect.signature(init).parameters
    twice = [name for name in OPTION_KEYWORDS if given[name] != parameters[name].default]
    if twice:
        raise InvalidOptionError(f"pass options= or {', '.join(twice)}, not both")
