"""The RPC error tree and the wire format every VOD/STS error is written in.

Exception tree (all carry ``status``, ``code``, ``message``)::

    RpcError                      any error answered in the POP JSON/XML error format
      +-- emulator.rpc.auth errors     routing and signature problems (this module's codes)
      +-- emulator.vod.exceptions.*    VOD operation errors (InvalidVideo.NotFound, ...)
      +-- emulator.sts.exceptions.*    STS operation errors (InvalidParameter.DurationSeconds, ...)

Raising one leaves the emulator state untouched: services validate before they mutate.

The body is ``{RequestId, HostId, Code, Message, Recommend}``. Both
clients read only ``Code``/``Message``/``RequestId``; aliyunsdkcore additionally splits the
``SignatureDoesNotMatch`` message on ``:`` and compares the second field with its own
string-to-sign, so that message must keep the ``server string to sign is:<STS>`` form.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from emulator.http import Request, Response
from emulator.rpc.cors import allow_origin
from emulator.rpc.params import all_params

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
# tea parses an error body as XML only when the content type is exactly this string.
XML_CONTENT_TYPE = "text/xml;charset=utf-8"


class RpcError(Exception):
    """An error answered to an RPC client. Subclasses fix ``status`` and ``code``."""

    status: int = 400
    code: str = "InvalidParameter"
    default_message: str = "The specified parameter is not valid."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        super().__init__(f"{self.code}: {self.message}")


def new_request_id() -> str:
    """A request id shaped like the real service's (upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def wants_xml(request: Request) -> bool:
    """True when the client asked for ``Format=XML`` (query or form body)."""
    return all_params(request).get("Format", "").upper() == "XML"


def _xml_element(name: str, value: Any) -> str:
    if isinstance(value, Mapping):
        inner = "".join(_xml_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        # POP's XML repeats the element for each list item.
        return "".join(_xml_element(name, item) for item in value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    return f"<{name}>{escape(text)}</{name}>"


def render(
    request: Request, *, status: int, document: Mapping[str, Any], root: str, request_id: str
) -> Response:
    """Serialise a response document as JSON (default) or XML (``Format=XML``), readable
    by the requesting page when the request came from a browser (EMU-RPC-013)."""
    headers = [("x-acs-request-id", request_id)]
    if wants_xml(request):
        body = "<?xml version='1.0' encoding='UTF-8'?>" + _xml_element(root, document)
        headers.insert(0, ("Content-Type", XML_CONTENT_TYPE))
    else:
        headers.insert(0, ("Content-Type", JSON_CONTENT_TYPE))
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    response = Response(status=status, headers=headers, body=body.encode("utf-8"))
    return allow_origin(request, response)


def error_response(
    request: Request, *, status: int, code: str, message: str, product: str | None = None
) -> Response:
    """The POP error document for ``code``, in the format the client asked for."""
    request_id = new_request_id()
    product_name = {"vod": "Vod", "sts": "Sts"}.get(product or "", "Vod")
    document = {
        "RequestId": request_id,
        "HostId": request.host,
        "Code": code,
        "Message": message,
        "Recommend": (
            f"https://api.aliyun.com/troubleshoot?q={code}"
            f"&product={product_name}&requestId={request_id}"
        ),
    }
    return render(request, status=status, document=document, root="Error", request_id=request_id)


def error_from_exception(request: Request, error: RpcError, *, product: str | None) -> Response:
    return error_response(
        request, status=error.status, code=error.code, message=error.message, product=product
    )


# ---------------------------------------------------------------------------------------
# Routing and authentication errors (the POP gateway's codes, shared by VOD and STS).


class MissingParameter(RpcError):
    code = "MissingParameter"

    def __init__(self, name: str) -> None:
        super().__init__(
            f'The input parameter "{name}" that is mandatory for processing this request '
            "is not supplied."
        )


class InvalidParameter(RpcError):
    code = "InvalidParameter"

    def __init__(self, name: str, detail: str = "") -> None:
        suffix = f" {detail}" if detail else ""
        super().__init__(f'The specified parameter "{name}" is not valid.{suffix}')


class InvalidAction(RpcError):
    status = 404
    code = "InvalidAction.NotFound"
    default_message = "Specified api is not found, please check your url and method."


class InvalidVersion(RpcError):
    status = 400
    code = "InvalidVersion"
    default_message = "Specified parameter Version is not valid."


class IncompleteSignature(RpcError):
    code = "IncompleteSignature"
    default_message = "The request signature does not conform to Aliyun standards."


class InvalidSignatureMethod(RpcError):
    code = "InvalidSignatureMethod"
    default_message = "Specified signature method is not supported."


class SignatureDoesNotMatch(RpcError):
    code = "SignatureDoesNotMatch"

    def __init__(self, string_to_sign: str) -> None:
        # aliyunsdkcore does message.split(':')[1] and compares it with its own
        # string-to-sign, so exactly one ':' must precede it; the
        # RPC v1 string-to-sign is percent-encoded and never contains one. ACS3's
        # contains newlines but no ':' either (it is "ACS3-HMAC-SHA256\n<hex>").
        super().__init__(
            "Specified signature is not matched with our calculation. "
            f"server string to sign is:{string_to_sign}"
        )


class InvalidAccessKeyIdNotFound(RpcError):
    status = 404
    code = "InvalidAccessKeyId.NotFound"
    default_message = "Specified access key is not found."


class InvalidTimeStampFormat(RpcError):
    code = "InvalidTimeStamp.Format"
    default_message = "Specified time stamp or date value is not well formatted."


class InvalidTimeStampExpired(RpcError):
    code = "InvalidTimeStamp.Expired"

    def __init__(self, server_time: str) -> None:
        super().__init__(
            f"Specified time stamp or date value is expired, the server time is {server_time}."
        )


class SignatureNonceUsed(RpcError):
    code = "SignatureNonceUsed"
    default_message = "Specified signature nonce was used already."


class MissingSecurityToken(RpcError):
    code = "MissingSecurityToken"
    default_message = "SecurityToken is mandatory for this action."


class InvalidSecurityTokenExpired(RpcError):
    code = "InvalidSecurityToken.Expired"
    default_message = "Specified SecurityToken is expired."


class InvalidSecurityTokenMismatch(RpcError):
    code = "InvalidSecurityToken.MismatchWithAccessKey"
    default_message = "Specified SecurityToken mismatch with the AccessKey."


class ForbiddenRam(RpcError):
    status = 403
    code = "Forbidden.RAM"
    default_message = (
        "User not authorized to operate on the specified resource, or this API doesn't support RAM."
    )
