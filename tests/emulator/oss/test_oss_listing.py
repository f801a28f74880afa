"""ListObjects v1 and v2 through oss2, and the pure paging function."""

from __future__ import annotations

import oss2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.oss.listing import list_keys

KEYS = ["a/1", "a/2", "a/b/3", "b", "c d/+ü", "c d/x", "z"]


@pytest.fixture
def filled(bucket: oss2.Bucket) -> oss2.Bucket:
    for key in KEYS:
        bucket.put_object(key, key.encode())
    return bucket


def test_list_v1_all_and_paged(filled: oss2.Bucket) -> None:
    """EMU-OSS-008: v1 with max-keys pages through NextMarker."""
    assert [o.key for o in oss2.ObjectIterator(filled, max_keys=2)] == KEYS
    first = filled.list_objects(max_keys=3)
    assert first.is_truncated and first.next_marker == "a/b/3"
    item = first.object_list[0]
    assert (item.size, item.type, item.storage_class) == (3, "Normal", "Standard")
    assert item.etag and item.last_modified > 0


def test_list_v1_prefix_delimiter(filled: oss2.Bucket) -> None:
    """EMU-OSS-008: common prefixes, prefix filters and paging over prefixes."""
    top = filled.list_objects(delimiter="/")
    assert [o.key for o in top.object_list] == ["b", "z"]
    assert top.prefix_list == ["a/", "c d/"]
    under_a = filled.list_objects(prefix="a/", delimiter="/")
    assert [o.key for o in under_a.object_list] == ["a/1", "a/2"]
    assert under_a.prefix_list == ["a/b/"]
    paged = list(oss2.ObjectIterator(filled, delimiter="/", max_keys=1))
    assert [o.key for o in paged] == ["a/", "b", "c d/", "z"]
    assert filled.list_objects(prefix="nothing").object_list == []
    assert [o.key for o in filled.list_objects(marker="b").object_list] == KEYS[4:]


def test_list_v2(filled: oss2.Bucket) -> None:
    """EMU-OSS-009: v2 continuation tokens, start-after, KeyCount, fetch-owner."""
    assert [o.key for o in oss2.ObjectIteratorV2(filled, max_keys=2)] == KEYS
    page = filled.list_objects_v2(max_keys=2, fetch_owner=True)
    assert page.is_truncated and page.next_continuation_token
    assert page.object_list[0].owner.id
    nxt = filled.list_objects_v2(continuation_token=page.next_continuation_token)
    assert [o.key for o in nxt.object_list] == KEYS[2:]
    after = filled.list_objects_v2(start_after="c d/+ü")
    assert [o.key for o in after.object_list] == ["c d/x", "z"]
    grouped = filled.list_objects_v2(delimiter="/", prefix="c d/")
    assert [o.key for o in grouped.object_list] == ["c d/+ü", "c d/x"]


def test_list_encoding_and_bad_parameters(oss_emulator, filled: oss2.Bucket) -> None:
    """EMU-OSS-008: encoding-type=url percent-encodes keys; bad max-keys/encoding-type/
    continuation-token are InvalidArgument."""
    response = filled._do(
        "GET", filled.bucket_name, "", params={"encoding-type": "url", "prefix": "c d/"}
    )
    body = response.read().decode()
    assert "<EncodingType>url</EncodingType>" in body
    assert "<Key>c%20d/%2B%C3%BC</Key>" in body
    bad = ({"max-keys": "abc"}, {"max-keys": "0"}, {"max-keys": "1001"}, {"encoding-type": "b64"})
    for params in bad:
        with pytest.raises(oss2.exceptions.InvalidArgument):
            filled._do("GET", filled.bucket_name, "", params=params)
    with pytest.raises(oss2.exceptions.InvalidArgument):
        filled.list_objects_v2(continuation_token="!!!")


@given(
    keys=st.sets(st.text(alphabet="ab/", min_size=1, max_size=5), max_size=25),
    prefix=st.text(alphabet="ab/", max_size=2),
    delimiter=st.sampled_from(["", "/", "b"]),
    limit=st.integers(min_value=1, max_value=4),
)
def test_paging_visits_everything_once(
    keys: set[str], prefix: str, delimiter: str, limit: int
) -> None:
    """EMU-OSS-008: following NextMarker visits every key/common prefix exactly once, in
    order, and matches a one-page listing."""
    ordered = sorted(keys)
    whole = list_keys(
        ((k, k) for k in ordered), prefix=prefix, delimiter=delimiter, after="", limit=10_000
    )
    seen_items: list[str] = []
    seen_prefixes: list[str] = []
    marker = ""
    for _ in range(100):
        page = list_keys(
            ((k, k) for k in ordered), prefix=prefix, delimiter=delimiter, after=marker, limit=limit
        )
        seen_items.extend(page.items)
        seen_prefixes.extend(page.prefixes)
        if not page.truncated:
            break
        marker = page.next_marker
    assert seen_items == whole.items
    assert seen_prefixes == whole.prefixes
    assert all(k.startswith(prefix) for k in seen_items)
