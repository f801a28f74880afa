"""The bare uploader issue 12 measures vodref against: what plain Python does on this machine.

``requests`` (one ``requests.Session`` per thread, its defaults), ``os.pread`` for each part,
``fastcrc`` for each part's CRC-64 (checked against the server's ``x-oss-hash-crc64ecma``) and
``anycrc``'s C combine for the object CRC (checked against Complete's). OSS V1 signatures by
hand (HMAC-SHA1 over the documented string to sign). No checkpoint, no retry, no core, no
callbacks: a floor for the per-part overhead of any uploader that checks what it sends.

It gets its STS credentials and upload address from VOD's CreateUploadVideo, as vodref does,
so both do the same requests against the same emulator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

import anycrc
import fastcrc
import requests

__all__ = ["bare_upload"]

_CRC64 = anycrc.Model("CRC64-XZ")


class _Signer:
    def __init__(self, key_id: str, secret: str, token: str | None) -> None:
        self._key_id = key_id
        self._secret = secret.encode()
        self._token = token

    def headers(
        self, verb: str, resource: str, content_type: str = "", extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        headers = {"Date": formatdate(usegmt=True), **(extra or {})}
        if content_type:
            headers["Content-Type"] = content_type
        if self._token:
            headers["x-oss-security-token"] = self._token
        oss = "".join(
            f"{name.lower()}:{value}\n"
            for name, value in sorted(headers.items(), key=lambda item: item[0].lower())
            if name.lower().startswith("x-oss-")
        )
        to_sign = f"{verb}\n\n{content_type}\n{headers['Date']}\n{oss}{resource}"
        digest = hmac.new(self._secret, to_sign.encode(), hashlib.sha1).digest()
        headers["Authorization"] = f"OSS {self._key_id}:{base64.b64encode(digest).decode()}"
        return headers


def bare_upload(
    endpoint: str,
    bucket: str,
    key: str,
    credentials: Any,
    path: str,
    part_size: int,
    parallel: int,
) -> None:
    """Upload ``path`` as a multipart object; raises on any failure or CRC mismatch."""
    signer = _Signer(
        credentials.access_key_id, credentials.access_key_secret, credentials.security_token
    )
    base = f"{endpoint.rstrip('/')}/{bucket}/{quote(key)}"
    resource = f"/{bucket}/{key}"
    size = os.path.getsize(path)
    count = max(1, -(-size // part_size))
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    reply = session().post(f"{base}?uploads", headers=signer.headers("POST", f"{resource}?uploads"))
    reply.raise_for_status()
    match = re.search(r"<UploadId>([^<]+)</UploadId>", reply.text)
    assert match, reply.text
    upload_id = match.group(1)
    fd = os.open(path, os.O_RDONLY)

    def put(number: int) -> tuple[str, int, int]:
        offset = (number - 1) * part_size
        data = os.pread(fd, min(part_size, size - offset), offset)
        crc = int(fastcrc.crc64.xz(data))
        query = f"partNumber={number}&uploadId={upload_id}"
        answer = session().put(
            f"{base}?{query}", data=data, headers=signer.headers("PUT", f"{resource}?{query}")
        )
        answer.raise_for_status()
        if int(answer.headers["x-oss-hash-crc64ecma"]) != crc:
            raise RuntimeError(f"part {number}: CRC-64 mismatch")
        return answer.headers["ETag"], crc, len(data)

    try:
        with ThreadPoolExecutor(parallel) as pool:
            parts = list(pool.map(put, range(1, count + 1)))
    finally:
        os.close(fd)
    body = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        for n, (etag, _, _) in enumerate(parts, 1)
    )
    xml = f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode()
    query = f"uploadId={upload_id}"
    done = session().post(
        f"{base}?{query}",
        data=xml,
        headers=signer.headers("POST", f"{resource}?{query}", "application/xml"),
    )
    done.raise_for_status()
    total = 0
    for _, crc, length in parts:
        total = int(_CRC64.combine(total, crc, length))
    if int(done.headers["x-oss-hash-crc64ecma"]) != total:
        raise RuntimeError("object CRC-64 mismatch")
