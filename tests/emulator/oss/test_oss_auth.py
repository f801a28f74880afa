"""OSS authentication: worked signature examples, STS tokens, scope, skew, presigning."""

from __future__ import annotations

import calendar
import datetime
import hashlib
import time
from collections.abc import Callable
from typing import Any

import oss2
import pytest
import requests

from emulator.clock import EmulatorClock
from emulator.credentials import CredentialKind, CredentialStore, Scope
from emulator.db import Database
from emulator.http import Headers, Request
from emulator.oss.auth import (
    AuthContext,
    authenticate,
    v1_signature,
    v1_string_to_sign,
    v4_canonical_request,
    v4_signature,
)
from emulator.oss.exceptions import OssError
from emulator.oss.urls import classify

PINNED = float(calendar.timegm((2025, 1, 1, 0, 0, 0)))
TOKEN = "CAIS-token-abc"


def worked_request(method: str, path: str, query: str, headers: list[tuple[str, str]]) -> Request:
    return Request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=Headers(headers),
        body=b"",
        host="127.0.0.1:9000",
    )


def test_v1_worked_example() -> None:
    """EMU-OSS-020: a worked V1 example, signature byte for byte."""
    request = worked_request(
        "PUT",
        "/examplebucket/dir/my%20file.txt",
        "acl=&foo=bar",
        [
            ("Content-Type", "text/plain"),
            ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="),
            ("x-oss-meta-Author", "alice"),
            ("X-OSS-Object-ACL", "private"),
            ("x-oss-security-token", TOKEN),
            ("date", "Wed, 01 Jan 2025 00:00:00 GMT"),
        ],
    )
    string_to_sign = v1_string_to_sign(request, classify(request), "Wed, 01 Jan 2025 00:00:00 GMT")
    assert string_to_sign.endswith(
        "x-oss-security-token:CAIS-token-abc\n/examplebucket/dir/my file.txt?acl"
    )
    assert v1_signature("TestSecret123", string_to_sign) == "JpkZ3azT4Ts6p4CPqYQoNRXPbGc="


def test_v4_worked_example() -> None:
    """EMU-OSS-021: a worked V4 example (oss2 and v2 agree)."""
    request = worked_request(
        "PUT",
        "/examplebucket/dir/my%20file.txt",
        "acl=&foo=b%20ar",
        [
            ("Content-Type", "text/plain"),
            ("x-oss-meta-author", "alice"),
            ("x-oss-security-token", TOKEN),
            ("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-oss-date", "20250101T000000Z"),
        ],
    )
    canonical = v4_canonical_request(request, classify(request), [], presigned=False)
    assert canonical.splitlines()[:3] == [
        "PUT",
        "/examplebucket/dir/my%20file.txt",
        "acl&foo=b%20ar",
    ]
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    assert digest == "37f3e199edaaf939d053a8ad0a425b931c948f6801a47fe81cdd385c4d1e8aa5"
    string_to_sign = (
        f"OSS4-HMAC-SHA256\n20250101T000000Z\n20250101/cn-hangzhou/oss/aliyun_v4_request\n{digest}"
    )
    assert (
        v4_signature("TestSecret123", "20250101", "cn-hangzhou", "oss", string_to_sign)
        == "97881a36480a213c456d39eb5318d6fbeb610230a859b93b61194a0a3cc53766"
    )


@pytest.fixture
def pinned_ctx() -> Callable[..., AuthContext]:
    db = Database(None)
    store = CredentialStore(
        db, root_access_key_id="LTAI5tTESTAKID", root_access_key_secret="TestSecret123"
    )
    clock = EmulatorClock()
    clock.freeze(PINNED)

    def make(**overrides: Any) -> AuthContext:
        # The worked examples of protocols.md §3.3-3.4 are scoped to cn-hangzhou.
        return AuthContext(
            credentials=store,
            now=overrides.get("now", clock.now()),
            max_skew=900,
            regions=frozenset({"cn-hangzhou"}),
        )

    return make


def test_presigned_worked_examples(pinned_ctx: Callable[..., AuthContext]) -> None:
    """EMU-OSS-022 EMU-OSS-023: V1 and V4 presigned URLs verify;
    after expiry they are AccessDenied "Request has expired."."""
    v1 = worked_request(
        "GET",
        "/examplebucket/dir/my%20file.txt",
        "response-content-type=text%2Fplain&OSSAccessKeyId=LTAI5tTESTAKID&Expires=1735693200"
        "&Signature=dW0fM9lxJvABhslcVbCVAiVdeaI%3D",
        [],
    )
    assert authenticate(v1, classify(v1), pinned_ctx()).access_key_id == "LTAI5tTESTAKID"
    with pytest.raises(OssError) as excinfo:
        authenticate(v1, classify(v1), pinned_ctx(now=1735693201.0))
    assert (excinfo.value.code, excinfo.value.message) == ("AccessDenied", "Request has expired.")
    v4_query = (
        "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20250101T000000Z&x-oss-expires=900"
        "&x-oss-credential=LTAI5tTESTAKID%2F20250101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
        "&x-oss-security-token=CAIS-token-abc"
        "&x-oss-signature=2b15a5216d05a75146df77ce48b0e526ab7f1fa11914715cfe8f85f009e1200c"
    )
    v4 = worked_request("GET", "/examplebucket/dir/my%20file.txt", v4_query, [])
    canonical = v4_canonical_request(v4, classify(v4), [], presigned=True)
    assert canonical == (
        "GET\n/examplebucket/dir/my%20file.txt\nx-oss-credential=LTAI5tTESTAKID%2F20250101%2F"
        "cn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20250101T000000Z&x-oss-expires=900&"
        "x-oss-security-token=CAIS-token-abc&x-oss-signature-version=OSS4-HMAC-SHA256\n\n\n"
        "UNSIGNED-PAYLOAD"
    )
    # The root key carries no token, so the emulator rejects a token on it (0002-00000002).
    with pytest.raises(OssError) as excinfo:
        authenticate(v4, classify(v4), pinned_ctx())
    assert excinfo.value.code == "InvalidAccessKeyId"


# ---------------------------------------------------------------------------------------
# Over the socket


def signed_raw(bucket: oss2.Bucket, method: str, key: str, **kwargs: Any) -> oss2.http.Request:
    """A request signed by oss2 but not sent, so a test can tamper with it."""
    request = oss2.http.Request(
        method,
        bucket._make_url(bucket.bucket_name, key),
        region=bucket.region,
        product=bucket.product,
        **kwargs,
    )
    bucket.auth._sign_request(request, bucket.bucket_name, key)
    return request


def send(request: oss2.http.Request) -> requests.Response:
    return requests.request(
        request.method,
        request.url,
        params=request.params,
        headers=dict(request.headers),
        data=request.data,
        timeout=5,
    )


def code_of(response: requests.Response) -> str:
    text = response.text
    return text.split("<Code>")[1].split("</Code>")[0]


def test_wrong_secret_and_unknown_key(oss_emulator, make_bucket) -> None:
    """EMU-OSS-026: wrong secret is SignatureDoesNotMatch with the server's StringToSign;
    an unknown AccessKeyId is InvalidAccessKeyId."""
    make_bucket().put_object("k", b"v")
    wrong = make_bucket(auth=oss2.Auth(oss_emulator.access_key_id, "wrong"), create=False)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as excinfo:
        wrong.get_object("k")
    assert excinfo.value.details["StringToSign"].endswith("\n/test-bucket/k")
    assert excinfo.value.details["OSSAccessKeyId"] == oss_emulator.access_key_id
    for auth in (
        oss2.Auth("LTAI-unknown", "x"),
        oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider("LTAI-unknown", "x")),
    ):
        with pytest.raises(oss2.exceptions.ServerError) as excinfo:
            make_bucket(auth=auth, create=False).get_object("k")
        assert (excinfo.value.status, excinfo.value.code) == (403, "InvalidAccessKeyId")
    wrong_v4 = make_bucket(
        auth=oss2.ProviderAuthV4(
            oss2.credentials.StaticCredentialsProvider(oss_emulator.access_key_id, "wrong")
        ),
        create=False,
    )
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as excinfo:
        wrong_v4.get_object("k")
    assert excinfo.value.details["StringToSign"].startswith("OSS4-HMAC-SHA256\n")


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_tampered_header_and_query(oss_emulator, make_bucket, version: str) -> None:
    """EMU-OSS-020 EMU-OSS-021 EMU-OSS-026: a signed header or query value changed after
    signing fails; the untouched request passes."""
    auth = oss_emulator.auth() if version == "v1" else oss_emulator.auth_v4()
    bucket = make_bucket(auth=auth)
    headers = {"x-oss-meta-owner": "alice", "Content-Type": "text/plain"}
    good = signed_raw(bucket, "PUT", "t.txt", data=b"body", headers=dict(headers))
    assert send(good).status_code == 200
    tampered = signed_raw(bucket, "PUT", "t.txt", data=b"body", headers=dict(headers))
    tampered.headers["x-oss-meta-owner"] = "mallory"
    response = send(tampered)
    assert (response.status_code, code_of(response)) == (403, "SignatureDoesNotMatch")
    params = {"response-content-type": "text/plain"}
    query = signed_raw(bucket, "GET", "t.txt", params=dict(params))
    query.params["response-content-type"] = "text/html"
    response = send(query)
    assert (response.status_code, code_of(response)) == (403, "SignatureDoesNotMatch")


def issue(oss_emulator, *, ttl: float = 3600, scope: Scope | None = None):
    state = oss_emulator.state
    return state.credentials.issue(
        now=state.clock.now(), ttl_seconds=ttl, kind=CredentialKind.STS, scope=scope or Scope()
    )


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_sts_token_lifecycle(oss_emulator, make_bucket, version: str) -> None:
    """EMU-OSS-024 EMU-OSS-050: StsAuth works; expired and revoked tokens are
    SecurityTokenExpired (EC 0002-00000007); a wrong token is InvalidSecurityToken; a
    temporary key without its token is InvalidAccessKeyId."""
    make_bucket()
    cred = issue(oss_emulator, ttl=600)
    sts = oss2.StsAuth(
        cred.access_key_id, cred.access_key_secret, cred.security_token, auth_version=version
    )
    bucket = make_bucket(auth=sts, create=False)
    assert bucket.put_object("sts.txt", b"via sts").status == 200
    assert bucket.get_object("sts.txt").read() == b"via sts"
    wrong_token = make_bucket(
        auth=oss2.StsAuth(
            cred.access_key_id, cred.access_key_secret, "CAIS-wrong", auth_version=version
        ),
        create=False,
    )
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        wrong_token.get_object("sts.txt")
    assert (excinfo.value.status, excinfo.value.code) == (403, "InvalidSecurityToken")
    no_token = make_bucket(auth=oss2.Auth(cred.access_key_id, cred.access_key_secret), create=False)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        no_token.get_object("sts.txt")
    assert excinfo.value.code == "InvalidAccessKeyId"
    oss_emulator.state.clock.advance(601)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.get_object("sts.txt")
    assert (excinfo.value.status, excinfo.value.code) == (403, "SecurityTokenExpired")
    assert excinfo.value.ec == "0002-00000007"
    revoked = issue(oss_emulator)
    oss_emulator.state.credentials.revoke(revoked.access_key_id)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        make_bucket(
            auth=oss2.StsAuth(
                revoked.access_key_id, revoked.access_key_secret, revoked.security_token
            ),
            create=False,
        ).get_object("sts.txt")
    assert excinfo.value.code == "SecurityTokenExpired"


def test_scope_limits_key_bucket_and_actions(oss_emulator, make_bucket) -> None:
    """EMU-OSS-025: a credential scoped to one key may upload only that key (single or
    multipart); another key, a traversal look-alike, listing and reading are AccessDenied."""
    make_bucket()
    make_bucket("other-bucket")
    actions = frozenset(
        {
            "PutObject",
            "InitiateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "ListParts",
        }
    )
    cred = issue(oss_emulator, scope=Scope(bucket="test-bucket", key="sv/a.mp4", actions=actions))
    sts = oss2.StsAuth(cred.access_key_id, cred.access_key_secret, cred.security_token)
    bucket = make_bucket(auth=sts, create=False)
    assert bucket.put_object("sv/a.mp4", b"ok").status == 200
    upload_id = bucket.init_multipart_upload("sv/a.mp4").upload_id
    part = bucket.upload_part("sv/a.mp4", upload_id, 1, b"ok")
    bucket.complete_multipart_upload("sv/a.mp4", upload_id, [oss2.models.PartInfo(1, part.etag)])
    denied: list[Callable[[], object]] = [
        lambda: bucket.put_object("sv/b.mp4", b"x"),
        lambda: bucket.put_object("sv/a.mp4/../b.mp4", b"x"),
        lambda: bucket.get_object("sv/a.mp4"),
        bucket.list_objects,
        lambda: bucket.delete_object("sv/a.mp4"),
        lambda: make_bucket("other-bucket", auth=sts, create=False).put_object("sv/a.mp4", b"x"),
    ]
    for attempt in denied:
        with pytest.raises(oss2.exceptions.AccessDenied):
            attempt()


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_clock_skew(oss_emulator, make_bucket, monkeypatch, version: str) -> None:
    """EMU-OSS-027: a request dated more than 15 minutes from both the emulator clock and
    the wall clock is RequestTimeTooSkewed. Moving only the emulator clock (as token-expiry
    tests do) keeps real-time SDK requests working."""
    auth = oss_emulator.auth() if version == "v1" else oss_emulator.auth_v4()
    bucket = make_bucket(auth=auth)
    oss_emulator.state.clock.advance(3600)
    assert bucket.put_object("k", b"v").status == 200
    skew = datetime.timedelta(minutes=16)
    if version == "v1":
        skewed = oss2.utils.http_date(time.time() - skew.total_seconds())
        monkeypatch.setattr(oss2.utils, "http_date", lambda timeval=None: skewed)
    else:

        class Skewed(datetime.datetime):
            @classmethod
            def utcnow(cls):  # type: ignore[override]
                return datetime.datetime.utcnow() - skew

        monkeypatch.setattr(oss2.auth, "datetime", Skewed)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.put_object("k", b"v")
    assert (excinfo.value.status, excinfo.value.code) == (403, "RequestTimeTooSkewed")
    assert excinfo.value.details["RequestTime"]


def test_anonymous_and_malformed_authorization(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-028: buckets are private: no signature is AccessDenied, as is an unknown
    Authorization scheme."""
    bucket.put_object("k", b"v")
    response = requests.get(f"{oss_emulator.url}/test-bucket/k", timeout=5)
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")
    response = requests.get(
        f"{oss_emulator.url}/test-bucket/k", headers={"Authorization": "OSS2 x"}, timeout=5
    )
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_urls(oss_emulator, make_bucket, version: str) -> None:
    """EMU-OSS-022 EMU-OSS-023 EMU-OSS-050: presigned GET and PUT (root and STS) work until
    they expire."""
    auth = oss_emulator.auth() if version == "v1" else oss_emulator.auth_v4()
    bucket = make_bucket(auth=auth)
    put_url = bucket.sign_url("PUT", "pre/signed.txt", 60)
    assert requests.put(put_url, data=b"presigned", timeout=5).status_code == 200
    get_url = bucket.sign_url("GET", "pre/signed.txt", 60)
    assert requests.get(get_url, timeout=5).content == b"presigned"
    cred = issue(oss_emulator)
    sts = make_bucket(
        auth=oss2.StsAuth(
            cred.access_key_id, cred.access_key_secret, cred.security_token, auth_version=version
        ),
        create=False,
    )
    assert (
        requests.get(sts.sign_url("GET", "pre/signed.txt", 60), timeout=5).content == b"presigned"
    )
    oss_emulator.state.clock.advance(120)
    response = requests.get(get_url, timeout=5)
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")
    assert "Request has expired." in response.text
    now = time.time()
    assert now  # the URLs above were signed against the real clock


def test_path_and_virtual_hosted_style(oss_emulator, make_bucket) -> None:
    """EMU-OSS-001: a virtual-hosted request (Host: bucket.oss-<region>.aliyuncs.com)
    addresses the same object as path style, signatures included."""
    bucket = make_bucket()
    bucket.put_object("dir/v.txt", b"virtual")
    port = oss_emulator.url.rsplit(":", 1)[1]
    virtual = oss2.Bucket(
        oss_emulator.auth(),
        f"http://oss-{oss_emulator.region}.aliyuncs.com",
        "test-bucket",
        proxies={"http": oss_emulator.url},
    )
    try:
        assert virtual.get_object("dir/v.txt").read() == b"virtual"
        virtual.put_object("vh/é.txt", b"vh")
    finally:
        virtual.session.session.close()
    assert bucket.get_object("vh/é.txt").read() == b"vh"
    assert port


def test_v4_presigned_with_additional_headers(oss_emulator, make_bucket) -> None:
    """EMU-OSS-023: a V4 URL signed over an additional header (range) verifies when the
    header is sent as signed and fails when it is changed."""
    bucket = make_bucket(auth=oss_emulator.auth_v4())
    bucket.put_object("k", b"0123456789")
    url = bucket.sign_url(
        "GET", "k", 60, headers={"Range": "bytes=0-3"}, additional_headers=["range", "host"]
    )
    assert "x-oss-additional-headers=range" in url
    good = requests.get(url, headers={"Range": "bytes=0-3"}, timeout=5)
    assert (good.status_code, good.content) == (206, b"0123")
    bad = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=5)
    assert (bad.status_code, code_of(bad)) == (403, "SignatureDoesNotMatch")
