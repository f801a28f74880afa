"""Nothing secret leaves the suite: AccessKeyIds, secrets, security tokens and signatures
are replaced in every request record, trace and report.

Built on :func:`vodref.redact.redact` (the one masking of both command lines), plus what a
report needs on top: bare key ids (``LTAI...``, ``STS....``) outside any ``name=value``,
and request-log queries taken apart parameter by parameter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from vodref.redact import MASK, redact

__all__ = ["REDACTED", "redact_query", "redact_requests", "redact_text"]

REDACTED = MASK
_SECRET_NAME = re.compile(
    r"(access-?key-?(id|secret)|accesskeyid|security-?token|signature|credential|"
    r"upload-?auth|secret|token|password)",
    re.IGNORECASE,
)
# Long-term and temporary AccessKeyIds (LTAI..., STS....), and base64 UploadAuth blobs.
_SECRET_VALUE = re.compile(r"\b(LTAI[0-9A-Za-z]{6,}|STS\.[0-9A-Za-z]{6,})\b")


def redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if _SECRET_NAME.search(k) else v) for k, v in pairs])


def redact_text(text: str) -> str:
    return _SECRET_VALUE.sub(REDACTED, redact(text))


def redact_requests(records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    out = []
    for record in records:
        clean = {k: v for k, v in record.items() if not _SECRET_NAME.search(str(k))}
        if isinstance(clean.get("query"), str):
            clean["query"] = redact_text(redact_query(clean["query"]))
        if isinstance(clean.get("path"), str):
            clean["path"] = redact_text(clean["path"])
        out.append(clean)
    return tuple(out)
