"""moto as an oracle for the emulator's multipart uploads.

A Hypothesis state machine sends the same sequences (initiate, upload part, re-upload,
list parts, complete with good, missing, reordered, wrong-ETag, duplicate, subset and
empty part lists, abort) to the emulator's OSS model and to moto's S3 (through boto3 under
``moto.mock_aws``, in-process) and compares the outcomes after applying the documented
OSS/S3 differences of ``s3_differences.py``. Part sizes are drawn from tiny, the OSS
minimum and the S3 minimum, so both sides of the minimum-size difference are exercised.
Runs in the ci profile; the thorough profile explores far more sequences.
Requirements: specs/emulator-oss.md (EMU-OSS-018).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule
from moto import mock_aws
from support.s3_differences import MIN_PART_SIZE, normal_etag, oss_code_for_s3

from emulator.oss.exceptions import OssError
from emulator.oss.models import NewObject
from emulator.state import EmulatorState

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BUCKET = "oracle-bucket"
OSS_MIN = int(MIN_PART_SIZE.oss)  # type: ignore[call-overload]
S3_MIN = int(MIN_PART_SIZE.s3)  # type: ignore[call-overload]
SIZES = st.sampled_from([1, 7, OSS_MIN, S3_MIN])
PLANS = st.sampled_from(
    ["good", "missing", "reordered", "wrong_etag", "duplicate", "subset", "empty"]
)


@dataclass
class Upload:
    key: str
    oss_id: str
    s3_id: str
    parts: dict[int, tuple[str, int, bytes]] = field(default_factory=dict)  # n -> etag, size, data
    open: bool = True
    completed: bool = False
    s3_completed: bool = False


Outcome = tuple[str, Any]  # ("ok", value) or ("error", OSS code)


class MotoOracle(RuleBasedStateMachine):
    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.state = EmulatorState()
        self.oss = self.state.oss
        self.oss.ensure_bucket(BUCKET)
        self.mock = mock_aws()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.mock.start()
            self.s3 = boto3.client(
                "s3",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            self.s3.create_bucket(Bucket=BUCKET)
        self.objects: dict[str, bytes] = {}
        self.s3_origin: dict[str, Upload] = {}  # key -> the upload behind S3's object

    def teardown(self) -> None:
        self.mock.stop()
        self.state.db.close()

    # -- running one step on both sides --------------------------------------------------

    @staticmethod
    def _oss(call: Any) -> Outcome:
        try:
            return ("ok", call())
        except OssError as error:
            return ("error", error.code)

    @staticmethod
    def _s3(call: Any) -> Outcome:
        try:
            return ("ok", call())
        except ClientError as error:
            return ("error", oss_code_for_s3(error.response["Error"]["Code"]))
        except KeyError:
            # MOTO_COMPLETE_UNKNOWN_UPLOAD: moto's crash where S3 answers NoSuchUpload.
            return ("error", "NoSuchUpload")

    # -- rules -----------------------------------------------------------------------------

    @rule(target=uploads, key=st.sampled_from(["a", "b/c", "d e"]))
    def initiate(self, key: str) -> Upload:
        info = self.oss.initiate_upload(BUCKET, key, new=NewObject())
        answer = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)
        return Upload(key=key, oss_id=info.upload_id, s3_id=answer["UploadId"])

    @rule(upload=uploads, number=st.integers(1, 4), size=SIZES, fill=st.integers(0, 255))
    def upload_part(self, upload: Upload, number: int, size: int, fill: int) -> None:
        data = bytes([fill]) * size
        digest = hashlib.md5(data).digest()
        oss = self._oss(
            lambda: (
                self.oss.upload_part(
                    BUCKET, upload.key, upload.oss_id, number, data, md5_digest=digest
                ).etag
            )
        )
        s3 = self._s3(
            lambda: self.s3.upload_part(
                Bucket=BUCKET, Key=upload.key, UploadId=upload.s3_id, PartNumber=number, Body=data
            )["ETag"]
        )
        assert oss[0] == s3[0], (oss, s3)
        if oss[0] == "ok":
            assert normal_etag(oss[1]) == normal_etag(s3[1]) == digest.hex().upper()
            upload.parts[number] = (oss[1], size, data)
        else:
            assert not upload.open and oss == s3 == ("error", "NoSuchUpload")

    @rule(upload=uploads)
    def list_parts(self, upload: Upload) -> None:
        oss = self._oss(
            lambda: [
                (p.part_number, normal_etag(p.etag), p.size)
                for p in self.oss.list_parts(
                    BUCKET, upload.key, upload.oss_id, after=0, max_parts=1000
                )[0]
            ]
        )
        s3 = self._s3(
            lambda: [
                (p["PartNumber"], normal_etag(p["ETag"]), p["Size"])
                for p in self.s3.list_parts(
                    Bucket=BUCKET, Key=upload.key, UploadId=upload.s3_id
                ).get("Parts", [])
            ]
        )
        assert oss == s3
        if upload.open:
            expected = [(n, normal_etag(e), s) for n, (e, s, _) in sorted(upload.parts.items())]
            assert oss == ("ok", expected)

    @rule(upload=uploads, plan=PLANS, choice=st.randoms(use_true_random=False))
    def complete(self, upload: Upload, plan: str, choice: Any) -> None:
        """EMU-OSS-018: the same part list completes on both sides, or fails with a code
        whose condition holds on each (after the documented differences), and the two
        objects have the same ETag and bytes."""
        numbers = sorted(upload.parts)
        listed = [(n, upload.parts[n][0]) for n in numbers]
        if plan == "missing":
            listed.append((max(numbers, default=0) + 1, "0" * 32))
        elif plan == "reordered":
            listed.reverse()
        elif plan == "wrong_etag" and listed:
            listed[0] = (listed[0][0], hashlib.md5(b"wrong").hexdigest().upper())
        elif plan == "duplicate" and listed:
            listed.insert(0, listed[0])
        elif plan == "subset" and listed:
            listed = sorted(choice.sample(listed, choice.randint(1, len(listed))))
        elif plan == "empty":
            listed = []
        allowed_oss = self._applicable(upload, listed, OSS_MIN)
        allowed_s3 = self._applicable(upload, listed, S3_MIN)
        if upload.s3_completed and self.s3_origin.get(upload.key) is upload:
            allowed_s3 = set()  # COMPLETE_TWICE: S3 answers the same object again
        oss = self._oss(
            lambda: self.oss.complete_upload(BUCKET, upload.key, upload.oss_id, list(listed)).etag
        )
        s3 = self._s3(
            lambda: self.s3.complete_multipart_upload(
                Bucket=BUCKET,
                Key=upload.key,
                UploadId=upload.s3_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": f'"{e.lower()}"'} for n, e in listed]
                },
            )["ETag"]
        )
        moto_order_defect = s3[0] == "ok" and "InvalidPartOrder" in allowed_s3
        if moto_order_defect:
            allowed_s3 = set()  # MOTO_PART_ORDER: moto completes what S3 refuses
        for outcome, allowed in ((oss, allowed_oss), (s3, allowed_s3)):
            if allowed:
                assert outcome[0] == "error" and outcome[1] in allowed, (plan, outcome, allowed)
            else:
                assert outcome[0] == "ok", (plan, outcome)
        if oss[0] == "ok" == s3[0]:
            assert normal_etag(oss[1]) == normal_etag(s3[1])  # ETAG_FORM: same construction
        if len(allowed_oss) == 1 and allowed_oss == allowed_s3:
            assert oss == s3
        if oss[0] == "ok":
            upload.open = False
            upload.completed = True
            upload.s3_completed = s3[0] == "ok"
            if upload.s3_completed:
                self.s3_origin[upload.key] = upload
            self.objects[upload.key] = b"".join(upload.parts[n][2] for n, _ in listed)
            self._check_object(upload.key, compare_s3=s3[0] == "ok")
            if s3[0] != "ok":
                # MIN_PART_SIZE_RESYNC: S3 kept the upload open; close it there too.
                self.s3.abort_multipart_upload(Bucket=BUCKET, Key=upload.key, UploadId=upload.s3_id)
        if moto_order_defect and upload.open:
            # MOTO_PART_ORDER: S3's upload is gone; end OSS's too.
            upload.s3_completed = True
            self.s3_origin[upload.key] = upload
            self.oss.abort_upload(BUCKET, upload.key, upload.oss_id)
            upload.open = False
        if s3[0] == "ok" and oss[0] != "ok" and allowed_s3:
            # MIN_PART_SIZE cannot make S3 accept what OSS refuses (S3's minimum is larger).
            raise AssertionError(f"S3 completed what OSS refused: {plan} {oss}")

    def _applicable(self, upload: Upload, listed: list[tuple[int, str]], minimum: int) -> set[str]:
        """The error codes whose condition holds for this part list on a service."""
        if not upload.open:
            return {"NoSuchUpload"}
        if not listed:
            return {"MalformedXML"}
        codes: set[str] = set()
        numbers = [n for n, _ in listed]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            codes.add("InvalidPartOrder")
        if any(
            n not in upload.parts or normal_etag(upload.parts[n][0]) != normal_etag(e)
            for n, e in listed
        ):
            codes.add("InvalidPart")
        known = [upload.parts[n][1] for n, _ in listed if n in upload.parts]
        if any(size < minimum for size in known[:-1]):
            codes.add("EntityTooSmall")
        return codes

    def _check_object(self, key: str, *, compare_s3: bool) -> None:
        stored = self.oss.get_object(BUCKET, key)
        data = b"".join(self.oss.iter_object(stored, 0, stored.info.size))
        assert data == self.objects[key]
        if compare_s3:
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert body == data

    @rule(upload=uploads)
    def abort(self, upload: Upload) -> None:
        oss = self._oss(lambda: self.oss.abort_upload(BUCKET, upload.key, upload.oss_id))
        s3 = self._s3(
            lambda: self.s3.abort_multipart_upload(
                Bucket=BUCKET, Key=upload.key, UploadId=upload.s3_id
            )
        )
        assert oss[0] == s3[0] or not upload.open, (oss, s3)
        if upload.open:
            assert oss[0] == "ok"
        else:
            assert oss == ("error", "NoSuchUpload")
        upload.open = False

    @precondition(lambda self: bool(self.objects))
    @invariant()
    def open_uploads_agree(self) -> None:
        oss = sorted(
            u.key
            for u in self.oss.list_uploads(
                BUCKET,
                prefix="",
                delimiter="",
                key_marker="",
                upload_id_marker="",
                max_uploads=1000,
            ).items
        )
        s3 = sorted(
            u["Key"] for u in self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        )
        assert oss == s3


# Each step can move 5 MiB through both sides: short sequences keep the ci profile fast;
# HYPOTHESIS_PROFILE=thorough runs the profile's 1000 longer sequences.
_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
MotoOracle.TestCase.settings = settings(
    settings(),
    stateful_step_count=30 if _DEEP else 10,
    max_examples=settings().max_examples if _DEEP else min(settings().max_examples, 20),
)
TestMotoOracle = MotoOracle.TestCase
