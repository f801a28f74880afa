"""Uploader options and the retry policy: immutable, validated values.

Every JS 1.5.x constructor option has a field here, validated in the constructor. A bad value
raises :class:`~vodref.core.errors.InvalidOptionError`; it is never replaced by the default the
way ``options.x || default`` does in the JS SDK (so ``retry_count=0`` really disables retries).
Options the core does not act on (``timeout``, ``region``, ``user_id``, ``cname``) are still
validated here so the driver reads them from one checked place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._validate import check_float, check_instance, check_int, check_optional_str, check_str
from .errors import InvalidOptionError
from .planning import MAX_MULTIPART_THRESHOLD, MAX_PART_SIZE, MIN_PART_SIZE, SINGLE_PUT_THRESHOLD

__all__ = ["RetryPolicy", "UploaderOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded per operation and per file.

    The n-th retry (n >= 1) of one operation waits
    ``min(max_delay, initial_delay * multiplier ** (n - 1))`` scaled by
    ``1 - jitter * u``, where ``u`` in [0, 1) comes from the random source injected into the
    core. An operation is one request's purpose: "upload part 7", "complete", "initiate".
    ``max_retries`` bounds the retries of one operation; ``budget`` bounds the retries of all
    operations of one file (None: no file-wide bound). Progress restores both: an
    acknowledged part resets the file's counts, so they bound failures *in a row*, as JS
    ``retryCount`` does (UP-OUTAGE-003). Failures during an outage (the connection failing as
    a whole, UP-OUTAGE-001) count against ``UploaderOptions.outage_limit`` instead.

    The policy is a value: it holds no counters. The core keeps the counters.
    """

    max_retries: int = 3
    initial_delay: float = 2.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.5
    budget: int | None = 50

    def __post_init__(self) -> None:
        check_int(self.max_retries, "max_retries", InvalidOptionError, minimum=0, maximum=1000)
        check_float(self.initial_delay, "initial_delay", InvalidOptionError, minimum=0.0)
        check_float(self.multiplier, "multiplier", InvalidOptionError, minimum=1.0)
        check_float(self.max_delay, "max_delay", InvalidOptionError, minimum=0.0)
        check_float(self.jitter, "jitter", InvalidOptionError, minimum=0.0, maximum=1.0)
        if self.max_delay < self.initial_delay:
            raise InvalidOptionError(
                f"max_delay ({self.max_delay}) must be >= initial_delay ({self.initial_delay})"
            )
        if self.budget is not None:
            check_int(self.budget, "budget", InvalidOptionError, minimum=0)

    @classmethod
    def from_js(cls, *, retry_count: int = 3, retry_duration: float = 2.0) -> RetryPolicy:
        """The policy closest to JS ``retryCount``/``retryDuration`` (fixed delay, no jitter)."""
        return cls(
            max_retries=retry_count,
            initial_delay=retry_duration,
            multiplier=1.0,
            max_delay=retry_duration,
            jitter=0.0,
        )

    def allows(self, retry_number: int, budget_used: int) -> bool:
        """Whether the ``retry_number``-th retry of an operation may happen, given how many
        retries the file already used."""
        if retry_number > self.max_retries:
            return False
        return self.budget is None or budget_used < self.budget

    def delay(self, retry_number: int, unit_random: float) -> float:
        """Seconds to wait before the ``retry_number``-th retry (1-based)."""
        exponent = max(0, retry_number - 1)
        try:
            base = min(self.max_delay, self.initial_delay * self.multiplier**exponent)
        except OverflowError:  # the power is beyond any float: the cap applies
            base = self.max_delay
        return base * (1.0 - self.jitter * unit_random)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploaderOptions:
    """The uploader's options. Defaults are those of the JS SDK 1.5.x unless noted.

    - ``part_size``: requested multipart part size in bytes, 102,400 .. 5 GiB (default 1 MiB).
      Grown per file so no file needs more than 10,000 parts.
    - ``parallel``: parts of one file in flight at once, 1..64 (default 5).
    - ``max_concurrent_files``: files uploading at once, 1..64 (default 1, as the JS SDK).
    - ``multipart_threshold``: files of this many bytes or more use multipart, smaller ones
      one PutObject; 1 .. 64 MiB (default 102,400: the JS rule). Raising it makes many small
      files cheaper (one request and one barrier save less each, UP-PART-007). A file
      below it is read into memory whole and sent in one request that is retried whole
      (no parts to resume): up to ``multipart_threshold * max_concurrent_files`` bytes.
    - ``retry``: the :class:`RetryPolicy` (default: 3 retries per operation, 2 s base delay).
    - ``refresh_margin``: ask for new credentials this many seconds before they expire
      (None disables proactive refresh; default 300 s).
    - ``credentials_timeout``: seconds a file may wait for credentials (its first ones, or
      new ones after an expiry) before it fails with ``CredentialsTimeout`` and the queue moves
      on (UP-HANG-001; default 300 s; None waits without a deadline, as JS does).
    - ``outage_limit``: seconds the connection may keep failing (an outage, UP-OUTAGE-001)
      before the files waiting on it fail (default 300 s; None: no limit).
    - ``checkpoint_interval``: minimum seconds between two checkpoint saves of one file during
      part uploads (0 saves after every part; default 1 s). Phase changes always save.
    - ``timeout``: per-request timeout in seconds for the driver's transport (default 60 s,
      ali-oss's default), or None for none.
    - ``region``: VOD region for STS-mode OpenAPI calls (default ``cn-shanghai``).
    - ``user_id``: the Alibaba Cloud account id the JS docs ask for; optional, not used by the
      core.
    - ``cname``: the endpoint is a custom domain (passed to the transport).
    - ``local_checkpoint`` and ``enable_upload_progress``: accepted for parity; vodref has no
      cloud checkpoint lookup and sends no telemetry, so checkpoints are always local.
    """

    part_size: int = 1_048_576
    parallel: int = 5
    max_concurrent_files: int = 1
    multipart_threshold: int = SINGLE_PUT_THRESHOLD
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    refresh_margin: float | None = 300.0
    credentials_timeout: float | None = 300.0
    outage_limit: float | None = 300.0
    checkpoint_interval: float = 1.0
    timeout: float | None = 60.0
    region: str = "cn-shanghai"
    user_id: str | None = None
    cname: bool = False
    local_checkpoint: bool = False
    enable_upload_progress: bool = False

    def __post_init__(self) -> None:
        check_int(
            self.part_size,
            "part_size",
            InvalidOptionError,
            minimum=MIN_PART_SIZE,
            maximum=MAX_PART_SIZE,
        )
        check_int(self.parallel, "parallel", InvalidOptionError, minimum=1, maximum=64)
        check_int(
            self.max_concurrent_files,
            "max_concurrent_files",
            InvalidOptionError,
            minimum=1,
            maximum=64,
        )
        check_int(
            self.multipart_threshold,
            "multipart_threshold",
            InvalidOptionError,
            minimum=1,
            maximum=MAX_MULTIPART_THRESHOLD,  # such a file is held in memory whole
        )
        check_instance(self.retry, RetryPolicy, "retry", InvalidOptionError)
        if self.refresh_margin is not None:
            check_float(self.refresh_margin, "refresh_margin", InvalidOptionError, minimum=0.0)
        for name in ("credentials_timeout", "outage_limit"):
            value = getattr(self, name)
            if value is not None:
                check_float(value, name, InvalidOptionError, minimum=0.0, allow_min=False)
        check_float(self.checkpoint_interval, "checkpoint_interval", InvalidOptionError, minimum=0)
        if self.timeout is not None:
            check_float(self.timeout, "timeout", InvalidOptionError, minimum=0.0, allow_min=False)
        check_str(self.region, "region", InvalidOptionError)
        check_optional_str(self.user_id, "user_id", InvalidOptionError)
        for name in ("cname", "local_checkpoint", "enable_upload_progress"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidOptionError(f"{name} must be a bool, got {getattr(self, name)!r}")
