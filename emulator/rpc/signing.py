"""The two RPC signature algorithms, as pure functions (specs/emulator-vod-sts.md).

Both are written from the protocol description rather than copied from an SDK, so that the
SDK tests check two independent implementations against each other.

RPC v1 (aliyunsdkcore, the JS SDK, tea with ``signature_algorithm='v2'``)::

    canonical    = "&".join(pct(k) + "=" + pct(v) for k, v in sorted(params minus Signature))
    StringToSign = METHOD + "&" + pct("/") + "&" + pct(canonical)
    Signature    = base64(HMAC-SHA1(secret + "&", StringToSign))

ACS3-HMAC-SHA256 (tea clients' default)::

    CanonicalRequest = METHOD \\n URI \\n CanonicalQuery \\n CanonicalHeaders \\n
                       SignedHeaders \\n hex(sha256(body))
    StringToSign     = "ACS3-HMAC-SHA256\\n" + hex(sha256(CanonicalRequest))
    Signature        = hex(HMAC-SHA256(secret, StringToSign))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from emulator.http import Headers

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
_RPC_DIGESTS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
RPC_SIGNATURE_METHODS = frozenset(_RPC_DIGESTS)


def pct(text: str) -> str:
    """RFC 3986 percent-encoding: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return quote(text, safe="~")


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    pairs = sorted((key, value) for key, value in params.items() if key != "Signature")
    canonical = "&".join(f"{pct(key)}={pct(value)}" for key, value in pairs)
    return f"{method.upper()}&{pct('/')}&{pct(canonical)}"


def rpc_signature(string_to_sign: str, secret: str, signature_method: str = "HMAC-SHA1") -> str:
    digest = _RPC_DIGESTS[signature_method]
    mac = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def acs3_canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    # The tea client sorts by (unencoded) name and encodes only the values.
    ordered = sorted(pairs, key=lambda pair: pair[0])
    return "&".join(f"{key}={quote(value, safe='~')}" for key, value in ordered)


def acs3_canonical_headers(headers: Headers, signed_headers: Iterable[str]) -> str:
    lines = []
    for name in signed_headers:
        values = sorted(value.strip() for value in headers.get_all(name))
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def acs3_string_to_sign(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Headers,
    signed_headers: list[str],
    body: bytes,
) -> str:
    canonical_request = "\n".join(
        [
            method.upper(),
            path or "/",
            acs3_canonical_query(query),
            acs3_canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            # The real hash of the body, not the client's x-acs-content-sha256 claim: a
            # tampered body then fails the signature check like any other tampering.
            hashlib.sha256(body).hexdigest(),
        ]
    )
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ACS3_ALGORITHM}\n{digest}"


def acs3_signature(string_to_sign: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def signatures_equal(expected: str, received: str) -> bool:
    """Constant-time comparison, so timing reveals nothing about the expected signature."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))
