"""Translating the JS SDK's options: retryCount/retryDuration, paramData, and JS spellings
of keyword names (a helpful message instead of a silently ignored typo)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

from ..core import InvalidOptionError, RetryPolicy

__all__ = ["parse_param_data", "retry_from_js", "unknown_option_message"]


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
