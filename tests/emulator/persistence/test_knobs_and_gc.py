"""Start-up side of persistence: knobs come back, orphan blobs go away."""

from __future__ import annotations

import json
from pathlib import Path

import oss2
import pytest

from emulator.blobs import MemoryBlobStore
from emulator.clock import EmulatorClock
from emulator.config import EmulatorConfig, Settings
from emulator.db import Database
from emulator.persistence import KnobStore, apply_settings, collect_orphan_blobs
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


def test_clock_and_settings_survive_a_new_state_on_the_same_directory(tmp_path: Path) -> None:
    """EMU-PER-002: the clock offset, a frozen instant and changed settings persist."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    state = EmulatorState(config)
    state.clock.advance(120)
    state.knobs.save_clock(state.clock)
    state.settings.video_normal_after_seconds = 7
    state.knobs.save_settings(state.settings)
    offset = state.clock.snapshot().offset
    state.close()

    again = EmulatorState(config)
    assert again.clock.snapshot().offset == offset and not again.clock.frozen
    assert again.settings.video_normal_after_seconds == 7
    again.clock.freeze(1_234_567)
    again.knobs.save_clock(again.clock)
    again.close()
    with EmulatorState(config) as third:
        assert third.clock.now() == 1_234_567


def test_knob_rows_from_another_version_are_ignored_not_fatal() -> None:
    """EMU-PER-002: unknown or malformed saved knobs never stop the emulator starting."""
    db = Database(None)
    knobs = KnobStore(db)
    saved = {
        "clock": json.dumps({"offset": "soon"}),
        "settings": json.dumps(
            {"upload_auth_ttl_seconds": 9, "future_knob": 1, "sts_max_ttl_seconds": -1}
        ),
    }
    with db.transaction() as conn:
        conn.executemany("INSERT INTO emulator_knobs VALUES (?, ?)", saved.items())
    clock, settings = EmulatorClock(), Settings()
    knobs.restore(clock, settings)
    assert clock.snapshot().offset == 0
    assert settings.upload_auth_ttl_seconds == 9
    assert settings.sts_max_ttl_seconds == Settings().sts_max_ttl_seconds
    apply_settings(settings, {"sts_default_ttl_seconds": 60})
    assert settings.sts_default_ttl_seconds == 60


def test_orphan_blobs_are_collected_at_start_up(tmp_path: Path) -> None:
    """EMU-PER-003: a blob no row refers to (a crash between blob write and row commit)
    is deleted when the emulator starts; referenced blobs stay."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    state = EmulatorState(config)
    with ThreadedServer(state) as server:
        auth = oss2.Auth(config.access_key_id, config.access_key_secret)
        session = oss2.Session()
        bucket = oss2.Bucket(auth, server.url, "gc-bucket", session=session)
        bucket.create_bucket()
        bucket.put_object("kept", b"kept bytes")
        upload_id = bucket.init_multipart_upload("open").upload_id
        bucket.upload_part("open", upload_id, 1, b"part bytes")
        session.session.close()
    referenced = state.blobs.ids()
    orphan = state.blobs.put(b"written, never committed")
    state.close()

    with EmulatorState(config) as restarted:
        assert restarted.blobs.ids() == referenced
        assert orphan not in restarted.blobs.ids()
        assert restarted.oss.get_object("gc-bucket", "kept") is not None


def test_a_half_written_blob_is_an_orphan_the_next_start_deletes(tmp_path: Path) -> None:
    """EMU-PER-001 EMU-PER-003: a blob file is written in place under its new id; one a
    crash left half-written is referenced by no row and deleted at the next start, and
    a write that fails leaves no file at all."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    state = EmulatorState(config)
    kept = state.blobs.put(b"committed bytes")
    with pytest.raises(TypeError):
        state.blobs.put(object())  # type: ignore[arg-type]  # fails mid-put
    assert state.blobs.ids() == {kept}
    state.close()
    half = tmp_path / "blobs" / "ab" / ("ab" + "0" * 30)
    half.parent.mkdir(exist_ok=True)
    half.write_bytes(b"the first half of a part")  # as a SIGKILL mid-write leaves it
    with EmulatorState(config) as restarted:
        assert not half.exists()
        assert restarted.blobs.ids() <= {kept}


def test_collect_orphan_blobs_counts_what_it_removed() -> None:
    """EMU-PER-003: the collector deletes exactly the unreferenced blobs."""
    blobs = MemoryBlobStore()
    keep, drop = blobs.put(b"a"), blobs.put(b"b")
    assert collect_orphan_blobs(blobs, {keep}) == 1
    assert blobs.ids() == {keep} and drop not in blobs.ids()
