"""Finding 9 (issue 9): oss2's DEBUG log prints the security token.

oss2 logs every string-to-sign on its ``oss2`` logger at DEBUG, and an STS request signs
the ``x-oss-security-token`` header, so an application that turns on DEBUG logging for
everything writes live tokens to its logs. vodref's transport must not turn that logger
on, and the README says how to keep it quiet; both are checked here with a real upload
through vodref and oss2 against the emulator on a real socket.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.rpc import RunningEmulator, core_call, core_client

from vodref import AcsVodApi, Vod, VodAuthProvider
from vodref.testing import MemoryCheckpointStore


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def everything_logged() -> Iterator[_Records]:
    """A handler on the root logger that sees every record any logger lets through."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    oss2_level = logging.getLogger("oss2").level
    yield
    root.setLevel(level)
    logging.getLogger("oss2").setLevel(oss2_level)


def _upload_with_upload_auth(emulator: RunningEmulator) -> str:
    """A VOD UploadAuth upload through oss2.StsAuth; returns the token it used."""
    request = CreateUploadVideoRequest()
    request.set_Title("log")
    request.set_FileName("a.mp4")
    answer = core_call(core_client(emulator), request)
    auth = json.loads(base64.b64decode(answer["UploadAuth"]))
    address = json.loads(base64.b64decode(answer["UploadAddress"]))
    bucket = oss2.Bucket(
        oss2.StsAuth(auth["AccessKeyId"], auth["AccessKeySecret"], auth["SecurityToken"]),
        address["Endpoint"],
        address["Bucket"],
        session=emulator.oss_session,
    )
    bucket.put_object(address["FileName"], b"bytes")
    return str(auth["SecurityToken"])


def test_oss2_debug_logging_prints_the_token(
    served: RunningEmulator, everything_logged: _Records, root_level: None
) -> None:
    """EMU-SEC-013: the finding, reproduced: with the root logger at DEBUG, oss2 writes
    the security token (inside its string-to-sign)."""
    logging.getLogger().setLevel(logging.DEBUG)
    logging.getLogger("oss2").setLevel(logging.NOTSET)  # an application that never set it
    token = _upload_with_upload_auth(served)
    assert any(token in line for line in everything_logged.lines if line.startswith("oss2"))


def test_the_documented_recipe_keeps_oss2_quiet(
    served: RunningEmulator, everything_logged: _Records, root_level: None
) -> None:
    """EMU-SEC-013: README's recipe (the ``oss2`` logger at WARNING) keeps the token out
    even when the application logs everything else at DEBUG."""
    logging.getLogger().setLevel(logging.DEBUG)
    logging.getLogger("oss2").setLevel(logging.WARNING)
    token = _upload_with_upload_auth(served)
    assert not any(token in line for line in everything_logged.lines)


def test_vodref_never_turns_the_oss2_logger_on(
    served: RunningEmulator, everything_logged: _Records, root_level: None, tmp_path: Path
) -> None:
    """EMU-SEC-013: a whole vodref upload (VOD calls, UploadAuth, oss2 StsAuth multipart)
    leaves the ``oss2`` logger's level and handlers as it found them, and with the
    documented recipe and vodref's own loggers at DEBUG no record holds a secret."""
    oss2_logger = logging.getLogger("oss2")
    level, handlers = oss2_logger.level, list(oss2_logger.handlers)
    logging.getLogger().setLevel(logging.DEBUG)
    oss2_logger.setLevel(logging.WARNING)
    source = tmp_path / "movie.mp4"
    source.write_bytes(b"m" * (300 * 1024))
    api = AcsVodApi(served.access_key_id, served.access_key_secret, endpoint=served.url)
    try:
        with Vod(
            auth_provider=VodAuthProvider(api),
            part_size=100 * 1024,
            checkpoint_store=MemoryCheckpointStore(),
            vod_endpoint=served.url,
        ) as vod:
            [done] = vod.upload(source, timeout=60)
        assert done.state.value == "Success"
    finally:
        api.close()
    assert oss2_logger.level == logging.WARNING
    assert oss2_logger.handlers == handlers
    oss2_logger.setLevel(level)
    secrets = [served.access_key_secret]
    for credential in served.state.credentials.all():
        secrets += [credential.access_key_secret, credential.security_token or "\0"]
    for line in everything_logged.lines:
        for secret in secrets:
            assert secret not in line, line[:120]
