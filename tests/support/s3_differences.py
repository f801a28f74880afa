"""Where OSS's multipart API differs from S3's, as data the moto oracle applies.

Each entry names the behaviour, the OSS side, the S3 side (as moto implements it) and a
reference for both. ``test_oss_moto_oracle.py`` normalises outcomes with these entries
before comparing the emulator's OSS model with moto's S3: a difference not in this table
is a failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    name: str
    oss: object
    s3: object
    reference: str


MIN_PART_SIZE = Difference(
    name="minimum size of a part that is not the last",
    oss=100 * 1024,
    s3=5 * 1024 * 1024,
    reference=(
        "OSS: specs/emulator-oss.md EMU-OSS-013 (EntityTooSmall under 100 KiB) and "
        "https://www.alibabacloud.com/help/en/oss/developer-reference/uploadpart; S3: "
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (5 MiB), moto "
        "settings.S3_UPLOAD_PART_MIN_SIZE default 5242880"
    ),
)
ETAG_FORM = Difference(
    name="ETag spelling",
    oss="upper-case hex MD5 (multipart: MD5 of the part MD5s, '-N'), quotes stripped by the model",
    s3="lower-case hex in quotes, same construction",
    reference=(
        "OSS: specs/emulator-oss.md EMU-OSS-012/EMU-OSS-013 (upper-case hex; the multipart "
        "construction follows S3's); S3: "
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html (ETag)"
    ),
)
ERROR_CODES = Difference(
    name="error codes of the multipart calls",
    oss={
        "NoSuchUpload": "NoSuchUpload",
        "InvalidPart": "InvalidPart",
        "InvalidPartOrder": "InvalidPartOrder",
        "EntityTooSmall": "EntityTooSmall",
        "MalformedXML": "MalformedXML",
    },
    s3="the same names (mapping S3 code -> OSS code is the identity)",
    reference=(
        "OSS: specs/emulator-oss.md EMU-OSS-013 (InvalidPart, InvalidPartOrder, "
        "EntityTooSmall, NoSuchUpload, MalformedXML); S3: "
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"
    ),
)
ERROR_PRECEDENCE = Difference(
    name="which error wins when a part list has several faults",
    oss="the emulator checks order, then every part's existence and ETag, then sizes",
    s3="moto checks part by part: order and ETag of each part, then the size of the one before",
    reference=(
        "neither service documents an order, so the oracle accepts any code whose condition holds"
    ),
)

MOTO_COMPLETE_UNKNOWN_UPLOAD = Difference(
    name="CompleteMultipartUpload of an upload id that is no longer open",
    oss="404 NoSuchUpload",
    s3="moto 5.2.5 raises KeyError (an unguarded bucket.multiparts[upload_id] in "
    "S3Backend.complete_multipart_upload); AWS documents 404 NoSuchUpload",
    reference=(
        "OSS: specs/emulator-oss.md EMU-OSS-013 (NoSuchUpload); moto: "
        "moto/s3/models.py complete_multipart_upload (found by this oracle); S3: "
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"
    ),
)

COMPLETE_TWICE = Difference(
    name="CompleteMultipartUpload again after it succeeded",
    oss="404 NoSuchUpload: the upload id is gone once completed",
    s3="200 with the same object, while the key still holds that upload's object "
    "(moto 5.2.5 S3Response: 'existing.multipart.id == multipart_id')",
    reference=(
        "OSS: specs/emulator-control.md EMU-FLT-009 (a retried Complete meets NoSuchUpload) "
        "; S3: moto/s3/responses.py _key_response_post, after "
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"
    ),
)
MOTO_PART_ORDER = Difference(
    name="a part list out of order or with a number twice",
    oss="400 InvalidPartOrder",
    s3="AWS: 400 InvalidPartOrder; moto 5.2.5 accepts it (in S3Response."
    "_complete_multipart_body the previous part number is never updated, so only numbers "
    "<= 0 are refused; found by this oracle)",
    reference=(
        "OSS: specs/emulator-oss.md EMU-OSS-013; moto: moto/s3/responses.py "
        "_complete_multipart_body; S3: "
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html "
        "(InvalidPartOrder). The oracle then aborts the OSS upload to keep both in step."
    ),
)
MIN_PART_SIZE_RESYNC = Difference(
    name="an upload S3 refused to complete (MIN_PART_SIZE) while OSS completed it",
    oss="closed (the object exists)",
    s3="still open",
    reference="follows from MIN_PART_SIZE; the oracle aborts S3's upload to keep the two in step",
)

TABLE = (
    MIN_PART_SIZE,
    MIN_PART_SIZE_RESYNC,
    COMPLETE_TWICE,
    ETAG_FORM,
    ERROR_CODES,
    ERROR_PRECEDENCE,
    MOTO_COMPLETE_UNKNOWN_UPLOAD,
)


def oss_code_for_s3(code: str) -> str:
    mapping = ERROR_CODES.oss
    assert isinstance(mapping, dict)
    return str(mapping.get(code, code))


def normal_etag(etag: str) -> str:
    """Both spellings of ETAG_FORM to one."""
    return etag.strip().strip('"').upper()
