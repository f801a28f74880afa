"""ali-oss 6.x against the emulator, in Node: append, copy, part copy and the object ACL.
Requirements: specs/emulator-oss.md §2 (EMU-OSS-050..EMU-OSS-053)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.checksums import crc64
from support.node import NodeRunner, ok

pytestmark = [pytest.mark.node]


def test_append_copy_part_copy_acl(
    run_node: NodeRunner, bucket_name: str, oss2_root: Callable[[str], Any]
) -> None:
    """EMU-OSS-050, EMU-OSS-051, EMU-OSS-052, EMU-OSS-053 through ali-oss."""
    result = ok(run_node("objects_extra.js", "--prefix", "node/extra", bucket=bucket_name))
    append = result["append"]
    assert (append["first"], append["second"]) == ("6", "11")
    assert append["crc64"] == str(crc64(b"hello world"))
    assert append["content"] == "hello world"
    assert append["wrongPosition"]["status"] == 409
    assert append["wrongPosition"]["code"] == "PositionNotEqualToLength"
    assert result["copy"]["status"] == 200
    assert result["copy"]["keptMeta"] == {"who": "alice"}
    assert result["copy"]["replacedMeta"] == {"who": "bob"}
    assert result["partCopy"]["md5"] == result["partCopy"]["expected"]
    assert result["acl"] == "public-read"
    stored = oss2_root(bucket_name).get_object_acl("node/extra/src.txt")
    assert stored.acl == "public-read"
