"""OSS routing: the ``(method, sub-resource) -> operation`` tables in emulator.oss.urls."""

from __future__ import annotations

import pytest

from emulator.http import Headers, Request
from emulator.oss.responses import HANDLERS
from emulator.oss.urls import (
    BUCKET_OPERATIONS,
    OBJECT_OPERATIONS,
    SUB_RESOURCE_PRECEDENCE,
    classify,
)

# Operations the tables name that the emulator answers with 501 NotImplemented on purpose.
NOT_IMPLEMENTED = {"PutBucketAcl", "PutObjectAcl", "GetObjectAcl", "AppendObject"}


def request(method: str, path: str, query: str = "") -> Request:
    return Request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=Headers(),
        body=b"",
        host="127.0.0.1:9000",
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("GET", "/", "", "ListBuckets"),
        ("PUT", "/", "", "Unknown"),
        ("OPTIONS", "/b/k", "", "Options"),
        ("PUT", "/b", "", "PutBucket"),
        ("GET", "/b", "list-type=2", "ListObjectsV2"),
        ("GET", "/b", "list-type=1", "ListObjects"),
        ("GET", "/b", "acl&list-type=2", "GetBucketAcl"),
        ("HEAD", "/b", "uploads&acl", "ListMultipartUploads"),
        ("POST", "/b", "", "Unknown"),
        ("POST", "/b", "delete", "DeleteMultipleObjects"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u&acl", "UploadPart"),
        ("GET", "/b/k", "uploadId=u", "ListParts"),
        ("HEAD", "/b/k", "objectMeta", "GetObjectMeta"),
        ("DELETE", "/b/k", "uploadId=u", "AbortMultipartUpload"),
        ("POST", "/b/k", "uploads&uploadId=u", "InitiateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u&append", "CompleteMultipartUpload"),
        ("POST", "/b/k", "", "Unknown"),
    ],
)
def test_method_and_first_sub_resource_pick_the_operation(
    method: str, path: str, query: str, operation: str
) -> None:
    """EMU-OSS-060: classify names the operation from the level addressed, the method and
    the first sub-resource in precedence order that the table has for that method."""
    assert classify(request(method, path, query)).operation == operation


def test_every_routed_operation_has_a_handler_or_is_deliberately_unimplemented() -> None:
    """EMU-OSS-060: no table entry routes to an operation nothing answers."""
    named = set(BUCKET_OPERATIONS.values()) | set(OBJECT_OPERATIONS.values())
    assert named - set(HANDLERS) <= NOT_IMPLEMENTED
    used = {sub for _, sub in BUCKET_OPERATIONS} | {sub for _, sub in OBJECT_OPERATIONS}
    assert used - {None} == set(SUB_RESOURCE_PRECEDENCE)
