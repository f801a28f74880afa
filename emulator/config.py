"""Emulator configuration (fixed at start) and settings (changed by the control plane)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Documented defaults (README): obviously fake, and long enough to look like real keys.
DEFAULT_ACCESS_KEY_ID = "LTAI5tEmulatorRootKey"
DEFAULT_ACCESS_KEY_SECRET = "vodref-emulator-root-secret-do-not-use-in-prod"
DEFAULT_ACCOUNT_ID = "1234567890123456"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    region: str = "cn-shanghai"
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET
    account_id: str = DEFAULT_ACCOUNT_ID
    data_dir: Path | None = None
    # Largest request body accepted (PutObject / UploadPart); OSS allows 5 GB.
    max_body_bytes: int = 5 * 1024**3
    # Largest header block, and the most headers, accepted.
    max_header_bytes: int = 64 * 1024
    # Allowed difference between a request's date and the emulator clock (OSS: 15 min).
    max_clock_skew_seconds: float = 900.0
    # Durability of disk writes; tests of crash safety keep it on.
    fsync: bool = True


@dataclass(slots=True, kw_only=True)
class Settings:
    """Knobs the control plane may change while the emulator runs."""

    upload_auth_ttl_seconds: float = 3000.0  # VOD UploadAuth, as the real service
    sts_default_ttl_seconds: float = 3600.0  # AssumeRole without DurationSeconds
    sts_max_ttl_seconds: float = 43200.0
    # Seconds a video stays UploadSucc before it becomes Normal.
    video_normal_after_seconds: float = 0.0
