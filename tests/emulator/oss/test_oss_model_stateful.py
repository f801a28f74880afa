"""A Hypothesis state machine over the OSS model (no socket): objects and multipart
uploads against a plain dict model, with the blob store checked for leaks after every
step."""

from __future__ import annotations

import hashlib
import itertools

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from emulator.oss.checksums import crc64
from emulator.oss.exceptions import OssError
from emulator.oss.models import MIN_PART_SIZE, NewObject
from emulator.state import EmulatorState

BUCKET = "model-bucket"
KEYS = st.sampled_from(["a", "a/b", "a/c", "b", "c/d/e"])
# Tiny parts, or exactly the minimum, so Complete can both fail and succeed.
PART_DATA = st.one_of(
    st.binary(min_size=0, max_size=8),
    st.integers(min_value=0, max_value=255).map(lambda b: bytes([b]) * MIN_PART_SIZE),
)


class OssModelMachine(RuleBasedStateMachine):
    """EMU-OSS-013 EMU-OSS-015 EMU-OSS-008: any interleaving of puts, deletes, uploads,
    part uploads, completes and aborts leaves the listing equal to the model, every object
    readable with the right CRC, and no blob unreferenced."""

    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.state = EmulatorState()
        self.oss = self.state.oss
        self.oss.ensure_bucket(BUCKET)
        self.objects: dict[str, bytes] = {}
        self.open: dict[str, tuple[str, dict[int, bytes]]] = {}

    def teardown(self) -> None:
        self.state.db.close()

    def _md5(self, data: bytes) -> bytes:
        return hashlib.md5(data).digest()

    @rule(key=KEYS, data=st.binary(max_size=16))
    def put(self, key: str, data: bytes) -> None:
        self.oss.put_object(BUCKET, key, data, md5_digest=self._md5(data), new=NewObject())
        self.objects[key] = data

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.oss.delete_object(BUCKET, key)
        self.objects.pop(key, None)

    @rule(target=uploads, key=KEYS)
    def initiate(self, key: str) -> str:
        upload_id = self.oss.initiate_upload(BUCKET, key, new=NewObject()).upload_id
        self.open[upload_id] = (key, {})
        return upload_id

    @rule(upload_id=uploads, number=st.integers(min_value=1, max_value=4), data=PART_DATA)
    def upload_part(self, upload_id: str, number: int, data: bytes) -> None:
        key = self.open[upload_id][0] if upload_id in self.open else "a"
        try:
            part = self.oss.upload_part(
                BUCKET, key, upload_id, number, data, md5_digest=self._md5(data)
            )
        except OssError as error:
            assert upload_id not in self.open
            assert error.code == "NoSuchUpload"
            return
        assert upload_id in self.open
        assert (part.size, part.crc64) == (len(data), crc64(data))
        self.open[upload_id][1][number] = data

    @rule(upload_id=uploads, numbers=st.lists(st.integers(min_value=1, max_value=4), max_size=4))
    def complete(self, upload_id: str, numbers: list[int]) -> None:
        key, parts = self.open.get(upload_id, ("a", {}))
        etags = [
            (n, hashlib.md5(parts[n]).hexdigest().upper() if n in parts else "0" * 32)
            for n in numbers
        ]
        expected = self._expected_complete(upload_id, numbers, parts)
        try:
            info = self.oss.complete_upload(BUCKET, key, upload_id, etags)
        except OssError as error:
            assert error.code == expected, (error.code, expected)
            return
        assert expected is None, expected
        data = b"".join(parts[n] for n in numbers)
        assert (info.size, info.crc64) == (len(data), crc64(data))
        assert info.etag.endswith(f"-{len(numbers)}")
        self.objects[key] = data
        del self.open[upload_id]

    def _expected_complete(
        self, upload_id: str, numbers: list[int], parts: dict[int, bytes]
    ) -> str | None:
        """The error Complete must raise, in the model's order of checks, or None."""
        if upload_id not in self.open:
            return "NoSuchUpload"
        if not numbers:
            return "MalformedXML"
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            return "InvalidPartOrder"
        if any(n not in parts for n in numbers):
            return "InvalidPart"
        if any(len(parts[n]) < MIN_PART_SIZE for n in numbers[:-1]):
            return "EntityTooSmall"
        return None

    @rule(upload_id=uploads)
    def abort(self, upload_id: str) -> None:
        key = self.open[upload_id][0] if upload_id in self.open else "a"
        try:
            self.oss.abort_upload(BUCKET, key, upload_id)
        except OssError as error:
            assert error.code == "NoSuchUpload" and upload_id not in self.open
            return
        del self.open[upload_id]

    @invariant()
    def listing_matches_model(self) -> None:
        page = self.oss.list_objects(BUCKET, prefix="", delimiter="", after="", max_keys=1000)
        assert [item.key for item in page.items] == sorted(self.objects)
        for item in page.items:
            stored = self.oss.get_object(BUCKET, item.key)
            data = b"".join(self.oss.iter_object(stored, 0, item.size))
            assert data == self.objects[item.key]
            assert item.crc64 == crc64(data)

    @invariant()
    def no_leaked_blobs(self) -> None:
        assert self.state.blobs.ids() == self.oss.referenced_blobs()


TestOssModel = OssModelMachine.TestCase
TestOssModel.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
