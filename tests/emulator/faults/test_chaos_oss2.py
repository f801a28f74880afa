"""Seeded chaos against a real oss2 client: the same seed replays the same faults."""

from __future__ import annotations

import oss2

from emulator.faults import SERVICE_UNAVAILABLE, Effect, Match
from emulator.pytest_plugin import EmulatorEndpoint


def run_workload(emu: EmulatorEndpoint, session: oss2.Session, seed: int) -> list[tuple[str, ...]]:
    """Reset, start chaos, put 30 objects retrying each until it lands; return the faults
    met, in order, and check nothing was lost or duplicated."""
    emu.control.reset()
    auth = oss2.Auth(emu.access_key_id, emu.access_key_secret)
    bucket = oss2.Bucket(auth, emu.url, "chaos", is_path_style=True, session=session)
    bucket.create_bucket()
    emu.control.start_chaos(
        seed=seed,
        rate=0.3,
        effects=[SERVICE_UNAVAILABLE, Effect.reset_before_body(), Effect.reset_after_body()],
        match=Match(operation="PutObject"),
    )
    for number in range(30):
        for _attempt in range(20):
            try:
                bucket.put_object(f"obj-{number}", f"body {number}".encode())
                break
            except (oss2.exceptions.ServerError, oss2.exceptions.RequestError):
                continue
    stopped = emu.control.stop_chaos()
    assert stopped is not None
    objects = emu.control.state()["oss"]["buckets"][0]["objects"]
    assert sorted(o["key"] for o in objects) == sorted(f"obj-{n}" for n in range(30))
    for stored in objects:
        assert bucket.get_object(stored["key"]).read() == f"body {stored['key'][4:]}".encode()
    hits = emu.control.fault_hits()
    assert len(hits) == stopped["fired"] > 0
    return [(hit["fault_id"], hit["effect"], hit["key"]) for hit in hits]


def test_same_seed_same_fault_sequence(
    vod_emulator_each_mode: EmulatorEndpoint, vod_oss2_session: oss2.Session
) -> None:
    """EMU-FLT-011: chaos is reproducible from its seed with a real client, and under it
    every object lands exactly once with the right bytes."""
    first = run_workload(vod_emulator_each_mode, vod_oss2_session, seed=42)
    again = run_workload(vod_emulator_each_mode, vod_oss2_session, seed=42)
    other = run_workload(vod_emulator_each_mode, vod_oss2_session, seed=7)
    assert first == again
    assert first != other
    assert {effect for _, effect, _ in first} <= {"error", "reset_before_body", "reset_after_body"}
