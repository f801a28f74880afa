"""Network failures as library users see them: ``TransportError`` messages name HOST:PORT
and the cause, never the signed request (UPL-CLI-010 is the CLI's view of the same)."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
import urllib3.exceptions
from aliyunsdkcore.acs_exception.exceptions import ClientException

from vodref.core import Credentials, ErrorKind, ObjectTarget
from vodref.errors import TransportError
from vodref.transport import OssHttpTransport
from vodref.transport.network import endpoint_address, network_failure, network_failure_from_text
from vodref.vod_api import AcsVodApi

KEY_ID, SECRET, TOKEN = "LTAInetKeyId42", "net-secret-42", "net-token-42"
SIGNED = f"/?AccessKeyId={KEY_ID}&Signature=abc%3D&SecurityToken={TOKEN}"


def _refused_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _assert_no_secret(text: str) -> None:
    for secret in (KEY_ID, SECRET, TOKEN, "Signature", "AccessKeyId"):
        assert secret not in text, text


def test_refused_through_both_sdks_over_loopback() -> None:
    """UPL-CLI-010: oss2 and aliyunsdkcore meet a closed loopback port; the errors say so
    with HOST:PORT and nothing else."""
    endpoint = _refused_endpoint()
    credentials = Credentials(access_key_id=KEY_ID, access_key_secret=SECRET, security_token=TOKEN)
    transport = OssHttpTransport(timeout=5)
    with pytest.raises(TransportError) as oss_error:
        transport.put_object(
            ObjectTarget(endpoint=endpoint, bucket="bucket-one", key="k"),
            credentials,
            data=b"x",
            headers={},
        )
    transport.close()
    api = AcsVodApi(KEY_ID, SECRET, security_token=TOKEN, endpoint=endpoint, timeout=5)
    with pytest.raises(TransportError) as vod_error:
        api.refresh_upload_video("video")
    api.close()
    address = endpoint.removeprefix("http://")
    # An IP endpoint: oss2 addresses the bucket path-style, so HOST:PORT is the endpoint's.
    refused = f"cannot connect to {address} (connection refused)"
    assert str(oss_error.value) == f"ConnectionRefused: {refused}"
    assert (
        str(vod_error.value)
        == f"ConnectionRefused: cannot connect to {address} (connection refused)"
    )
    for error in (oss_error.value, vod_error.value):
        assert error.error.kind is ErrorKind.NETWORK
        _assert_no_secret(str(error))
        _assert_no_secret(repr(error.error))


def _wrapped(inner: BaseException) -> requests.ConnectionError:
    """requests' shape: ConnectionError(MaxRetryError(url with the signed query, reason))."""
    pool = urllib3.HTTPConnectionPool("vod.example.com", 8443)
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(pool, SIGNED, inner))


@pytest.mark.parametrize(
    ("inner", "code", "phrase", "kind"),
    [
        (
            urllib3.exceptions.NameResolutionError(
                "vod.example.com",
                None,
                socket.gaierror(-2, "Name or service not known"),  # type: ignore[arg-type]
            ),
            "NameResolutionFailed",
            "cannot connect to vod.example.com:8443 (name resolution failed)",
            ErrorKind.NETWORK,
        ),
        (
            urllib3.exceptions.SSLError(ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")),
            "TlsError",
            "cannot connect to vod.example.com:8443 (TLS handshake failed)",
            ErrorKind.NETWORK,
        ),
        (
            urllib3.exceptions.ConnectTimeoutError(None, f"timed out {SIGNED}"),
            "ConnectTimeout",
            "cannot connect to vod.example.com:8443 (timed out while connecting)",
            ErrorKind.TIMEOUT,
        ),
        (
            urllib3.exceptions.ProtocolError(
                "Connection aborted.", ConnectionResetError(104, "reset")
            ),
            "ConnectionReset",
            "lost the connection to vod.example.com:8443 (connection reset)",
            ErrorKind.NETWORK,
        ),
        (
            OSError(101, "Network is unreachable"),
            "NetworkUnreachable",
            "cannot connect to vod.example.com:8443 (network unreachable)",
            ErrorKind.NETWORK,
        ),
    ],
)
def test_causes_are_named_from_the_exception_chain(
    inner: BaseException, code: str, phrase: str, kind: ErrorKind
) -> None:
    """UPL-CLI-010: each cause found in requests' and urllib3's chain; the URL with the
    signed query is in the chain, never in the message."""
    failure = network_failure(_wrapped(inner))
    assert (failure.code, failure.message, failure.kind) == (code, phrase, kind)
    _assert_no_secret(failure.message)


def test_aliyunsdkcore_text_is_matched_then_dropped() -> None:
    """UPL-CLI-010: aliyunsdkcore keeps only the text (with the signed query): the cause
    is matched in it and the message is built from the endpoint."""
    text = (
        f"HTTPConnectionPool(host='vod.example.com', port=80): Max retries exceeded with url: "
        f"{SIGNED} (Caused by NameResolutionError(\"Failed to resolve 'vod.example.com'\"))"
    )
    failure = network_failure_from_text(text, endpoint="https://vod.example.com")
    assert failure.message == "cannot connect to vod.example.com:443 (name resolution failed)"
    error = ClientException("SDK.HttpError", text)
    from vodref.vod_api import _vod_error  # noqa: PLC0415 (the module's classifier)

    assert _vod_error(error, "http://vod.example.com:80").message.startswith("cannot connect")
    unknown = network_failure_from_text(f"something odd {SIGNED}", endpoint=None)
    assert unknown.message == "cannot reach the server" and unknown.code == "NetworkError"


def test_endpoint_address_keeps_only_the_authority() -> None:
    assert endpoint_address(f"https://h.example.com{SIGNED}") == "h.example.com:443"
    assert endpoint_address("http://[::1]:9000/x") == "[::1]:9000"
    assert endpoint_address("http://[::1") is None and endpoint_address("") is None
