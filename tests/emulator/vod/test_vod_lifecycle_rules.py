"""The pure rules behind VOD's post-upload features: the lifecycle, SearchMedia's Match,
paging, the callback signature and the loopback rule. Requirements:
specs/emulator-vod-sts.md §2.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.vod import lifecycle, search
from emulator.vod.exceptions import InvalidParameter
from emulator.vod.notify import callback_signature, refusal_reason
from emulator.vod.records import FailureStage, VideoStatus

durations = st.floats(min_value=0, max_value=1e4, allow_nan=False)


@given(
    normal_after=durations,
    transcoding=durations,
    uploaded_at=st.none() | st.floats(min_value=0, max_value=1e6),
    failure=st.none() | st.sampled_from(FailureStage),
    steps=st.lists(st.floats(min_value=0, max_value=1e4), max_size=8),
)
def test_status_only_moves_forward_and_transitions_chain(
    normal_after: float,
    transcoding: float,
    uploaded_at: float | None,
    failure: FailureStage | None,
    steps: list[float],
) -> None:
    """EMU-VOD-020: observed in time order, statuses never go back, and the transitions
    between observations list every status entered exactly once, ending at the current."""
    timeline = lifecycle.Timeline(normal_after=normal_after, transcoding=transcoding)
    now = uploaded_at or 0.0
    previous = VideoStatus.UPLOADING
    entered: list[VideoStatus] = []
    for step in [0.0, *steps]:
        now += step
        current = lifecycle.status_at(
            uploaded_at=uploaded_at, now=now, timeline=timeline, failure=failure
        )
        path = lifecycle.transitions(previous, current)
        if current != previous:
            assert path and path[-1] == current
        entered.extend(path)
        previous = current
        due = lifecycle.next_change(
            uploaded_at=uploaded_at, now=now, timeline=timeline, failure=failure
        )
        assert due is None or due > now - 1e-9
    assert len(entered) == len(set(entered))
    if failure is FailureStage.UPLOAD:
        assert entered == [VideoStatus.UPLOAD_FAIL]


def test_transitions_pass_through_every_stage() -> None:
    """EMU-VOD-020: a zero-length stage is still entered (its events still go out)."""
    assert lifecycle.transitions(VideoStatus.UPLOADING, VideoStatus.NORMAL) == [
        VideoStatus.UPLOAD_SUCC,
        VideoStatus.TRANSCODING,
        VideoStatus.NORMAL,
    ]
    assert lifecycle.transitions(VideoStatus.UPLOAD_SUCC, VideoStatus.TRANSCODE_FAIL) == [
        VideoStatus.TRANSCODING,
        VideoStatus.TRANSCODE_FAIL,
    ]
    assert lifecycle.transitions(VideoStatus.NORMAL, VideoStatus.UPLOADING) == []


ROWS = [
    {
        "Title": "Funny Cats",
        "Tags": "pets,cats",
        "Status": "Normal",
        "CateId": 5,
        "CreationTime": 100.0,
    },
    {
        "Title": "Dog days",
        "Tags": "pets,dogs",
        "Status": "Uploading",
        "CateId": -1,
        "CreationTime": 200.0,
    },
]


@pytest.mark.parametrize(
    ("match", "titles"),
    [
        ("", ["Funny Cats", "Dog days"]),
        ("Title = 'cat'", ["Funny Cats"]),
        ('Title = "DOG"', ["Dog days"]),
        ("Tags in ('dogs', 'birds')", ["Dog days"]),
        ("CateId = 5", ["Funny Cats"]),
        ("Status = 'Normal' and Title = 'dog'", []),
        ("Status = 'Normal' or Title = 'dog'", ["Funny Cats", "Dog days"]),
        ("CreationTime = ('1970-01-01T00:02:00Z', '1970-01-01T00:05:00Z')", ["Dog days"]),
    ],
)
def test_match_language(match: str, titles: list[str]) -> None:
    """EMU-VOD-022."""
    predicate = search.compile_match(match)
    assert [row["Title"] for row in ROWS if predicate(row)] == titles


@pytest.mark.parametrize(
    "match",
    ["Title", "Title = ", "Nope = 'x'", "Title ~ 'x'", "Title = 'a' xor Status = 'b'",
     "Title in 'a'", "Title = ('a', 'b')", "CreationTime = 'yesterday'"],
)  # fmt: skip
def test_bad_match_is_invalid_parameter(match: str) -> None:
    """EMU-VOD-022: a malformed expression names Match; nothing else escapes."""
    with pytest.raises(InvalidParameter) as raised:
        search.compile_match(match)
    assert "Match" in raised.value.message


@given(st.text(max_size=40))
def test_match_parser_raises_only_invalid_parameter(text: str) -> None:
    """EMU-VOD-022: arbitrary input compiles or raises InvalidParameter."""
    try:
        predicate = search.compile_match(text)
    except InvalidParameter:
        return
    for row in ROWS:
        predicate(row)


def test_paging_rules() -> None:
    """EMU-VOD-019, EMU-VOD-022."""
    assert search.page_of(page_no=None, page_size=None) == search.Page(offset=0, size=10)
    assert search.page_of(page_no=3, page_size=20) == search.Page(offset=40, size=20)
    token = search.scroll_token(search.Page(offset=0, size=2), total=5)
    assert search.page_of(page_no=9, page_size=2, scroll_token=token).offset == 2
    assert search.scroll_token(search.Page(offset=4, size=2), total=5) == ""
    for bad in ({"page_no": 0, "page_size": 10}, {"page_no": 1, "page_size": 101},
                {"page_no": 51, "page_size": 100}):  # fmt: skip
        with pytest.raises(InvalidParameter):
            search.page_of(**bad)


def test_callback_signature_matches_the_documented_example() -> None:
    """EMU-VOD-024: md5 of "URL|timestamp|key", the service's documented construction."""
    url, timestamp, key = "https://www.example.com/your/callback", 1519375990, "test123"
    text = f"{url}|{timestamp}|{key}"
    assert callback_signature(url, timestamp, key) == hashlib.md5(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("http://127.0.0.1:8080/cb", frozenset(), False),
        ("http://127.9.9.9/cb", frozenset(), False),
        ("http://[::1]:81/cb", frozenset(), False),
        ("http://localhost/cb", frozenset(), False),
        ("http://10.0.0.5/cb", frozenset(), True),
        ("http://hooks.example.com/cb", frozenset(), True),
        ("http://hooks.example.com/cb", frozenset({"hooks.example.com"}), False),
        ("https://127.0.0.1/cb", frozenset(), True),
        ("ftp://127.0.0.1/cb", frozenset(), True),
    ],
)
def test_only_loopback_or_allowed_hosts_are_contacted(
    url: str, allowed: frozenset[str], refused: bool
) -> None:
    """EMU-VOD-025."""
    assert (refusal_reason(url, allowed) is not None) is refused
