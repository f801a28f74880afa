"""Emulator configuration (fixed at start) and settings (changed by the control plane)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Documented defaults (README): obviously fake, and long enough to look like real keys.
DEFAULT_ACCESS_KEY_ID = "LTAI5tEmulatorRootKey"
DEFAULT_ACCESS_KEY_SECRET = "vodref-emulator-root-secret-do-not-use-in-prod"
DEFAULT_ACCOUNT_ID = "1234567890123456"
DEFAULT_REGION = "cn-shanghai"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    region: str = DEFAULT_REGION
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    access_key_secret: str = field(default=DEFAULT_ACCESS_KEY_SECRET, repr=False)
    account_id: str = DEFAULT_ACCOUNT_ID
    data_dir: Path | None = None
    # Largest request body accepted (PutObject / UploadPart); OSS allows 5 GB.
    max_body_bytes: int = 5 * 1024**3
    # Bytes all request bodies in flight may announce together (EMU-SEC-001); None: half
    # of physical memory (emulator.body_memory.default_budget).
    max_inflight_body_bytes: int | None = None
    # Largest header block, and the most headers, accepted.
    max_header_bytes: int = 64 * 1024
    # Allowed difference between a request's date and the emulator clock (OSS: 15 min).
    max_clock_skew_seconds: float = 900.0
    # RPC signature nonces kept before the oldest (outside every skew window) are
    # forgotten; see emulator.rpc.nonces. About 100 bytes each.
    max_remembered_nonces: int = 100_000
    # Durability of disk writes; tests of crash safety keep it on.
    fsync: bool = True
    # Hosts besides loopback that VOD event callbacks may be delivered to. Empty by
    # default: the emulator never sends traffic off the machine unless told to.
    callback_allowed_hosts: frozenset[str] = frozenset()

    # Regions an OSS V4 credential scope may name besides ``region`` (EMU-SEC-012).
    extra_regions: tuple[str, ...] = ()
    # Host names the control plane answers besides loopback ones (EMU-SEC-006), and the
    # bearer token it requires when set (EMU-SEC-009; never shown anywhere).
    control_hosts: tuple[str, ...] = ()
    control_token: str | None = field(default=None, repr=False)

    def v4_regions(self) -> frozenset[str]:
        """The regions an OSS V4 signature may be scoped to."""
        return frozenset((self.region, *self.extra_regions))


# The longest any setting may be (100 years): with the clock below the year 3000
# (emulator.clock.LATEST) every expiry stays a printable date (EMU-SEC-002).
MAX_SETTING_SECONDS = 100 * 365 * 86400.0


@dataclass(slots=True, kw_only=True)
class Settings:
    """Knobs the control plane may change while the emulator runs."""

    upload_auth_ttl_seconds: float = 3000.0  # VOD UploadAuth, as the real service
    sts_default_ttl_seconds: float = 3600.0  # AssumeRole without DurationSeconds
    sts_max_ttl_seconds: float = 43200.0
    # Seconds from a video's upload until it becomes Normal (emulator clock) ...
    video_normal_after_seconds: float = 0.0
    # ... of which the last ones are spent in Transcoding (clamped to the above).
    video_transcoding_seconds: float = 0.0
    # VOD event callbacks: emulator seconds between attempts, and each attempt's timeout.
    callback_retry_delay_seconds: float = 1.0
    callback_timeout_seconds: float = 5.0
