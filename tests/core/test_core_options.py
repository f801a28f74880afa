"""Options and the retry policy: defaults, ranges, and loud failure on bad values."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodref.core import InvalidOptionError, RetryPolicy, UploaderOptions


def test_defaults_are_the_js_defaults() -> None:
    """UP-OPT-001 UP-OPT-002 UP-OPT-003 UP-OPT-004 UP-OPT-005 UP-OPT-006 UP-OPT-007 UP-OPT-008
    UP-OPT-009 UP-OPT-010 UP-OPT-011 UP-DEV-030"""
    options = UploaderOptions()
    assert options.part_size == 1_048_576
    assert options.parallel == 5
    assert options.retry.max_retries == 3
    assert options.retry.initial_delay == 2.0
    assert options.timeout == 60.0
    assert options.region == "cn-shanghai"
    assert options.user_id is None
    assert options.cname is False
    assert options.local_checkpoint is False
    assert options.enable_upload_progress is False  # UP-DEV-030: no telemetry
    assert options.max_concurrent_files == 1
    assert options.refresh_margin == 300.0
    assert options.checkpoint_interval == 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("part_size", 102_399),  # UP-OPT-001: under the 100 KiB minimum
        ("part_size", 5 * 1024**3 + 1),
        ("part_size", 1_048_576.0),
        ("part_size", True),
        ("parallel", 0),  # UP-OPT-002
        ("parallel", 65),
        ("timeout", 0),  # UP-OPT-004
        ("timeout", -1.0),
        ("timeout", float("nan")),
        ("region", ""),  # UP-OPT-005
        ("user_id", ""),  # UP-OPT-006
        ("cname", 1),  # UP-OPT-007
        ("local_checkpoint", "yes"),  # UP-OPT-008
        ("enable_upload_progress", None),
        ("max_concurrent_files", 0),  # UP-OPT-009
        ("refresh_margin", -1),  # UP-OPT-010
        ("checkpoint_interval", -0.5),  # UP-OPT-011
        ("checkpoint_interval", float("inf")),
        ("retry", 3),  # UP-OPT-003
    ],
)
def test_bad_option_values_raise_instead_of_falling_back(field: str, value: object) -> None:
    """UP-DEV-001: a falsy or wrong value is an error, never the default"""
    with pytest.raises(InvalidOptionError):
        UploaderOptions(**{field: value})  # type: ignore[arg-type]


def test_zero_means_zero() -> None:
    """UP-DEV-001: JS turns retryCount 0 into 3; here 0 disables retries."""
    policy = RetryPolicy.from_js(retry_count=0, retry_duration=2)
    assert policy.max_retries == 0
    assert not policy.allows(1, 0)
    assert UploaderOptions(refresh_margin=0.0, checkpoint_interval=0).checkpoint_interval == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": 1001},
        {"initial_delay": -1},
        {"multiplier": 0.5},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"max_delay": 1.0, "initial_delay": 2.0},
        {"budget": -1},
        {"budget": 1.5},
    ],
)
def test_bad_retry_policies_raise(kwargs: dict[str, object]) -> None:
    """UP-OPT-012"""
    with pytest.raises(InvalidOptionError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_from_js_is_a_fixed_delay_without_jitter() -> None:
    """UP-OPT-003"""
    policy = RetryPolicy.from_js(retry_count=3, retry_duration=2)
    assert [policy.delay(n, 0.99) for n in (1, 2, 3)] == [2.0, 2.0, 2.0]
    assert policy.allows(3, 0) and not policy.allows(4, 0)


def test_policy_is_an_immutable_value() -> None:
    """UP-RETRY-005"""
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_retries = 9  # type: ignore[misc]
    assert policy.delay(2, 0.3) == policy.delay(2, 0.3)


@given(
    retry_number=st.integers(min_value=1, max_value=2000),
    unit=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    initial=st.floats(min_value=0.0, max_value=100.0),
    multiplier=st.floats(min_value=1.0, max_value=10.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_is_exponential_capped_and_jittered_downwards(
    retry_number: int, unit: float, initial: float, multiplier: float, jitter: float
) -> None:
    """UP-RETRY-003"""
    policy = RetryPolicy(
        initial_delay=initial, multiplier=multiplier, max_delay=max(initial, 60.0), jitter=jitter
    )
    try:
        base = min(policy.max_delay, initial * multiplier ** (retry_number - 1))
    except OverflowError:
        base = policy.max_delay
    delay = policy.delay(retry_number, unit)
    assert 0.0 <= delay <= policy.max_delay
    assert base * (1 - jitter) - 1e-9 <= delay <= base + 1e-9


def test_budget_bounds_all_retries_of_a_file() -> None:
    """UP-RETRY-004"""
    policy = RetryPolicy(max_retries=5, budget=2)
    assert policy.allows(1, 0) and policy.allows(1, 1)
    assert not policy.allows(1, 2)
    assert RetryPolicy(budget=None).allows(3, 10_000)
