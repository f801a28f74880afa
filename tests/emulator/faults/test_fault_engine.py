"""The fault engine on its own: matching, counting, seeded draws and JSON validation.

No server here: these are the pure rules that every transport relies on.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.faults import (
    SERVICE_UNAVAILABLE,
    Chaos,
    Effect,
    EffectType,
    Fault,
    FaultEngine,
    InvalidFault,
    Match,
    TransportEffect,
    UnknownFault,
    coerce_faults,
    faults_from_json,
)
from emulator.http import OperationInfo


def part(number: int, key: str = "videos/a.mp4", bucket: str = "media") -> OperationInfo:
    return OperationInfo(
        service="oss", operation="UploadPart", bucket=bucket, key=key, part_number=number
    )


def test_match_filters_on_service_operation_globs_and_part_number() -> None:
    """EMU-FLT-002: every Match field narrows which requests a fault applies to."""
    match = Match(service="oss", operation="UploadPart", bucket="med*", key="videos/*.mp4")
    assert match.matches(part(1))
    assert not match.matches(part(1, key="videos/a.mov"))
    assert not match.matches(part(1, bucket="other"))
    assert not match.matches(OperationInfo(service="vod", operation="UploadPart"))
    assert Match(part_number=3).matches(part(3))
    assert not Match(part_number=3).matches(part(4))
    assert not Match(key="*").matches(OperationInfo(service="oss", operation="ListBuckets"))
    # Keys are case-sensitive, as on OSS.
    assert not Match(key="VIDEOS/*").matches(part(1))


def test_nth_and_times_pick_exactly_the_requests_asked_for() -> None:
    """EMU-FLT-002: nth skips earlier matches; times bounds how often a fault fires."""
    engine = FaultEngine()
    engine.add(
        Fault(match=Match(operation="UploadPart", nth=2), effect=SERVICE_UNAVAILABLE, times=2)
    )
    fired = [engine.decide(part(n), now=100.0) is not None for n in range(1, 6)]
    assert fired == [False, True, True, False, False]
    [listed] = engine.list_faults()
    assert (listed["seen"], listed["fired"]) == (5, 2)


def test_first_installed_fault_wins_and_later_ones_still_count() -> None:
    """EMU-FLT-002: faults are tried in order; the Nth request is counted by every match."""
    engine = FaultEngine()
    first = engine.add(Fault(match=Match(part_number=1), effect=SERVICE_UNAVAILABLE, times=1))
    second = engine.add(Fault(match=Match(nth=2), effect=Effect.reset_before_body()))
    one = engine.decide(part(1), now=1.0)
    two = engine.decide(part(2), now=2.0)
    assert one is not None and one.fault_id == first.id and one.error is not None
    assert two is not None and two.fault_id == second.id
    assert two.transport is not None
    assert two.transport.action is EffectType.RESET_BEFORE_BODY


def test_error_and_transport_decisions_carry_the_effect_parameters() -> None:
    """EMU-FLT-001: an Effect becomes the FaultDecision the app and transports enact."""
    engine = FaultEngine()
    engine.add(Fault(effect=Effect.error(403, "SecurityTokenExpired", "expired"), times=1))
    engine.add(Fault(effect=Effect.throttle(1024), times=1))
    engine.add(Fault(effect=Effect.truncate(10), times=1))
    engine.add(Fault(effect=Effect.stall(0.5), times=1))
    error = engine.decide(part(1), now=0.0)
    assert error is not None and error.error is not None
    assert (error.error.status, error.error.code, error.error.message) == (
        403,
        "SecurityTokenExpired",
        "expired",
    )
    throttle = engine.decide(part(2), now=0.0)
    assert throttle is not None and throttle.transport is not None
    assert throttle.transport.bytes_per_second == 1024
    truncate = engine.decide(part(3), now=0.0)
    assert truncate is not None and truncate.transport is not None
    assert truncate.transport.truncate_at == 10
    stall = engine.decide(part(4), now=0.0)
    assert stall is not None and stall.transport is not None
    assert stall.transport.seconds == 0.5
    assert engine.decide(part(5), now=0.0) is None


@pytest.mark.parametrize("effect_type", [t for t in EffectType if t is not EffectType.ERROR])
def test_every_transport_effect_type_reaches_the_decision_as_itself(
    effect_type: EffectType,
) -> None:
    """EMU-FLT-001: one effect enum from the fault's JSON to the transport that enacts it;
    an error is never a transport effect."""
    parameters = _REQUIRED_PARAMETERS.get(effect_type, {})
    effect = Effect.from_json({"type": effect_type.value, **parameters})
    decision = effect.decision("f")
    assert decision.error is None and decision.transport is not None
    assert decision.transport.action is effect_type
    with pytest.raises(ValueError, match="ErrorEffect"):
        TransportEffect(action=EffectType.ERROR)


_REQUIRED_PARAMETERS: dict[EffectType, dict[str, float]] = {
    EffectType.DELAY: {"seconds": 0.1},
    EffectType.STALL: {"seconds": 0.1},
    EffectType.THROTTLE: {"bytes_per_second": 10},
    EffectType.TRUNCATE: {"truncate_at": 0},
}


def test_control_requests_never_meet_faults() -> None:
    """EMU-FLT-002: the control plane stays reachable whatever faults are installed."""
    engine = FaultEngine()
    engine.add(Fault(effect=SERVICE_UNAVAILABLE))
    assert engine.decide(OperationInfo(service="control", operation="State"), now=0.0) is None


def test_hits_record_fault_request_and_emulator_time() -> None:
    """EMU-FLT-010: every fired fault is recorded with the request and the clock's time."""
    engine = FaultEngine()
    fault = engine.add(Fault(match=Match(part_number=2), effect=SERVICE_UNAVAILABLE))
    engine.decide(part(1), now=10.0)
    engine.decide(part(2), now=11.0)
    [hit] = engine.hits()
    assert hit.to_json() == {
        "fault_id": fault.id,
        "effect": "error",
        "at": 11.0,
        "service": "oss",
        "operation": "UploadPart",
        "bucket": "media",
        "key": "videos/a.mp4",
        "part_number": 2,
    }


def test_remove_clear_and_reset() -> None:
    """EMU-CTL-007: faults can be removed one by one or all at once."""
    engine = FaultEngine()
    kept = engine.add(Fault(effect=SERVICE_UNAVAILABLE))
    gone = engine.add(Fault(effect=SERVICE_UNAVAILABLE, id="named"))
    assert gone.id == "named"
    with pytest.raises(InvalidFault):
        engine.add(Fault(effect=SERVICE_UNAVAILABLE, id="named"))
    engine.remove("named")
    with pytest.raises(UnknownFault):
        engine.remove("named")
    assert [f["id"] for f in engine.list_faults()] == [kept.id]
    engine.decide(part(1), now=0.0)
    engine.clear()
    assert engine.list_faults() == [] and len(engine.hits()) == 1
    engine.reset()
    assert engine.hits() == []
    assert engine.add(Fault(effect=SERVICE_UNAVAILABLE)).id == "fault-1"


def _fault_sequence(seed: int, requests: int) -> list[str | None]:
    engine = FaultEngine()
    engine.add(
        Fault(match=Match(probability=0.3, seed=seed), effect=Effect.reset_after_body(), id="p")
    )
    engine.start_chaos(Chaos(seed=seed, rate=0.4))
    sequence = []
    for n in range(requests):
        decision = engine.decide(part(n % 10_000 + 1), now=float(n))
        if decision is None:
            sequence.append(None)
        elif decision.error is not None:
            sequence.append(f"{decision.fault_id}:{decision.error.code}")
        else:
            assert decision.transport is not None
            sequence.append(f"{decision.fault_id}:{decision.transport.action.value}")
    return sequence


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_same_seed_same_fault_sequence(seed: int) -> None:
    """EMU-FLT-003, EMU-FLT-011: probability and chaos draws replay exactly from the seed."""
    assert _fault_sequence(seed, 200) == _fault_sequence(seed, 200)


def test_chaos_rate_and_effect_choice() -> None:
    """EMU-FLT-011: chaos fires at about its rate, only from its effect set and match."""
    engine = FaultEngine()
    chaos = Chaos(seed=7, rate=0.25, effects=(SERVICE_UNAVAILABLE,), match=Match(service="oss"))
    engine.start_chaos(chaos)
    fired = sum(engine.decide(part(1), now=0.0) is not None for _ in range(2000))
    assert 400 < fired < 600
    assert engine.decide(OperationInfo(service="vod", operation="CreateUploadVideo"), now=0) is None
    assert {hit.effect for hit in engine.hits()} == {EffectType.ERROR}
    stopped = engine.stop_chaos()
    assert stopped is not None and stopped["fired"] == fired
    assert engine.chaos() is None and engine.decide(part(1), now=0.0) is None
    assert _fault_sequence(1, 300) != _fault_sequence(2, 300)


def test_json_round_trip_of_every_effect() -> None:
    """EMU-FLT-001: faults serialise to JSON and back unchanged."""
    effects = [
        Effect.error(503, "ServiceUnavailable", "busy"),
        Effect.delay(0.25),
        Effect.reset_before_body(),
        Effect.reset_after_body(),
        Effect.stall(1.5),
        Effect.throttle(4096),
        Effect.truncate(100),
        Effect.drop_after_commit(),
    ]
    for effect in effects:
        fault = Fault(
            id="f",
            match=Match(service="oss", key="a/*", part_number=2, nth=3, probability=0.5, seed=9),
            effect=effect,
            times=4,
        )
        text = json.dumps(fault.to_json())
        assert Fault.from_json(json.loads(text)) == fault
    chaos = Chaos(seed=3, rate=0.5, effects=tuple(effects))
    assert Chaos.from_json(json.loads(json.dumps(chaos.to_json()))) == chaos


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"match": {}},
        {"effect": {"type": "explode"}},
        {"effect": {"type": "error", "status": 200, "code": "X"}},
        {"effect": {"type": "error", "status": 503}},
        {"effect": {"type": "delay"}},
        {"effect": {"type": "delay", "seconds": "1"}},
        {"effect": {"type": "reset_before_body", "seconds": 1}},
        {"effect": {"type": "throttle", "bytes_per_second": 0}},
        {"effect": {"type": "truncate", "truncate_at": -1}},
        {"effect": {"type": "stall", "seconds": 1}, "times": 0},
        {"effect": {"type": "stall", "seconds": 1}, "colour": "red"},
        {"effect": {"type": "stall", "seconds": 1}, "match": {"service": "s3"}},
        {"effect": {"type": "stall", "seconds": 1}, "match": {"nth": 0}},
        {"effect": {"type": "stall", "seconds": 1}, "match": {"probability": 2}},
        {"effect": {"type": "stall", "seconds": 1}, "match": {"part_number": 10_001}},
        {"effect": {"type": "stall", "seconds": 1}, "match": {"part_number": True}},
        {"effect": {"type": "stall", "seconds": 1}, "match": []},
    ],
)
def test_malformed_fault_json_is_a_typed_error(raw: object) -> None:
    """EMU-FLT-001: malformed fault JSON raises InvalidFault, never anything else."""
    with pytest.raises(InvalidFault):
        Fault.from_json(raw)


def test_chaos_json_validation_and_list_forms() -> None:
    """EMU-FLT-001: chaos needs a seed; faults come one or many, as values or dicts."""
    with pytest.raises(InvalidFault):
        Chaos.from_json({"rate": 0.5})
    with pytest.raises(InvalidFault):
        Chaos.from_json({"seed": 1, "rate": 1.5})
    with pytest.raises(InvalidFault):
        Chaos.from_json({"seed": 1, "effects": []})
    with pytest.raises(InvalidFault):
        Chaos.from_json({"seed": 1, "effects": "error"})
    assert Chaos.from_json({"seed": 1}).rate == 0.1
    raw = {"effect": {"type": "reset_after_body"}}
    assert len(faults_from_json([raw, raw])) == 2
    assert faults_from_json(raw)[0].effect == Effect.reset_after_body()
    fault = Fault(effect=Effect.drop_after_commit())
    assert coerce_faults([fault, raw]) == [fault, Fault(effect=Effect.reset_after_body())]


@given(
    st.dictionaries(
        st.sampled_from(["id", "match", "effect", "times", "extra"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=12), inner, max_size=4)
            ),
            max_leaves=10,
        ),
    )
)
def test_arbitrary_json_parses_or_raises_invalid_fault(raw: dict[str, object]) -> None:
    """EMU-FLT-001: no input makes the parser raise anything but InvalidFault."""
    with contextlib.suppress(InvalidFault):
        Fault.from_json(raw)


def test_add_all_is_all_or_nothing() -> None:
    """EMU-CTL-007: a batch with a taken (or repeated) id installs nothing."""
    engine = FaultEngine()
    engine.add(Fault(effect=SERVICE_UNAVAILABLE, id="fault-2"))
    with pytest.raises(InvalidFault):
        engine.add_all(
            [Fault(effect=SERVICE_UNAVAILABLE), Fault(effect=SERVICE_UNAVAILABLE, id="fault-2")]
        )
    with pytest.raises(InvalidFault):
        engine.add_all(
            [Fault(effect=SERVICE_UNAVAILABLE, id="x"), Fault(effect=SERVICE_UNAVAILABLE, id="x")]
        )
    assert [f["id"] for f in engine.list_faults()] == ["fault-2"]
    # Generated ids skip the ones a user already chose.
    added = engine.add_all([Fault(effect=SERVICE_UNAVAILABLE), Fault(effect=SERVICE_UNAVAILABLE)])
    assert [f.id for f in added] == ["fault-1", "fault-3"]


def effects() -> st.SearchStrategy[Effect]:
    seconds = st.floats(min_value=0.001, max_value=60, allow_nan=False)
    return st.one_of(
        st.builds(
            Effect.error,
            st.integers(min_value=400, max_value=599),
            st.text(min_size=1, max_size=20),
            st.text(max_size=40),
        ),
        st.builds(Effect.delay, seconds),
        st.builds(Effect.stall, seconds),
        st.builds(Effect.throttle, st.integers(min_value=1, max_value=10**9)),
        st.builds(Effect.truncate, st.integers(min_value=0, max_value=10**9)),
        st.sampled_from(
            [Effect.reset_before_body(), Effect.reset_after_body(), Effect.drop_after_commit()]
        ),
    )


def matches() -> st.SearchStrategy[Match]:
    optional_text = st.none() | st.text(max_size=12)
    return st.builds(
        Match,
        service=st.none() | st.sampled_from(["oss", "vod", "sts"]),
        operation=optional_text,
        bucket=optional_text,
        key=optional_text,
        part_number=st.none() | st.integers(min_value=1, max_value=10_000),
        nth=st.integers(min_value=1, max_value=50),
        probability=st.floats(min_value=0, max_value=1),
        seed=st.integers(min_value=0, max_value=2**63),
    )


@given(
    st.builds(
        Fault,
        match=matches(),
        effect=effects(),
        times=st.none() | st.integers(min_value=1, max_value=100),
        id=st.text(max_size=8),
    )
)
def test_any_fault_round_trips_through_json(fault: Fault) -> None:
    """EMU-FLT-001: faults are data a strategy can draw; every one survives JSON."""
    assert Fault.from_json(json.loads(json.dumps(fault.to_json()))) == fault
