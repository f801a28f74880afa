"""One way to mask secrets in text that a person or a log will see.

Used by both command lines' log formatters (``vodref.cli.logs``, ``emulator.logs``), so a
name the uploader learns to mask is masked by the emulator too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MASK", "redact"]

MASK = "***"
# Query parameters, headers and fields whose value is secret or identifies a key, as OSS
# (V1, V4, presigned), the RPC APIs (VOD, STS), VOD's UploadAuth and the SDKs' own debug
# lines name them. Not anchored at a word boundary: a header inside a repr'd
# string-to-sign follows a literal "\n".
_SECRET_NAMES = (
    r"OSSAccessKeyId|AccessKeyId|access_key_id|AccessKeySecret|access_key_secret"
    r"|SecurityToken|security_token|x-oss-security-token|x-acs-security-token"
    r"|UploadAuth|Signature|Credential|x-oss-signature|x-oss-credential"
)
_SECRET_PARAMETER = re.compile(rf"(?i)({_SECRET_NAMES})(['\"]?\s*[=:]\s*['\"]?)([^&\s\"',;\\]+)")
# Also as a quoted key, the way a headers dict is printed.
_AUTHORIZATION = re.compile(r"(?i)(authorization['\"]?\s*[=:]\s*['\"]?)[^\r\n\"'\\]+")
# The password of a URL's user info (``http://user:password@proxy:3128``): the proxy URLs
# from the environment that the transport hands to oss2, whose debug lines print them.
_URL_PASSWORD = re.compile(r"(://[^/\s:@'\"]*:)[^/\s@'\"]+@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secret parameter values, Authorization values, URL passwords and every
    literal secret replaced by ``***``."""
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _SECRET_PARAMETER.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
