"""VOD event notifications: the message-callback configuration and HTTP deliveries.

Theory of operation. ``SetMessageCallback`` stores one configuration per AppId
(:class:`CallbackConfigStore`, a SQLite table, so it survives a restart). When the video
lifecycle (``lifecycle.py``) or an image upload produces an event, the VOD backend builds
its JSON payload and hands it to :class:`CallbackDispatcher` with a :class:`Target` (the
configured URL, or the per-upload ``UserData.MessageCallback.CallbackURL``).

The dispatcher POSTs the payload as JSON and signs it when authentication is on:
``X-VOD-TIMESTAMP`` (Unix seconds) and ``X-VOD-SIGNATURE = md5("URL|timestamp|AuthKey")``
in lower-case hex. Only HTTP 200 counts as delivered; anything else (another status, a
refused connection, a timeout) is a failed attempt, retried after
``settings.callback_retry_delay_seconds`` of emulator time, three attempts in all
(the service's rule, specs/emulator-vod-sts.md EMU-VOD-024).

The emulator never sends traffic off the machine: a target whose host is not loopback
(``127.0.0.0/8``, ``::1``, ``localhost``) and not listed in
``config.callback_allowed_hosts`` is never contacted; its delivery is recorded as
``refused`` with the reason. MNS targets are recorded as ``skipped`` (MNS is not emulated).

The delivery records (the control plane's ``/_emulator/callbacks`` view) hold the event,
the URL without its query string and every attempt's outcome; never the AuthKey or the
signature. Like faults and the request log, they are instruments of one process and are not
persisted.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from emulator.clock import Clock
from emulator.config import Settings
from emulator.db import Database

log = logging.getLogger("emulator.vod.notify")

MAX_ATTEMPTS = 3  # the first attempt and two retries
MAX_RECORDS = 1000

# The events the emulator emits, and the other event names SetMessageCallback accepts.
EMITTED_EVENTS = (
    "FileUploadComplete",
    "ImageUploadComplete",
    "AttachedMediaUploadComplete",
    "StreamTranscodeComplete",
    "TranscodeComplete",
)
KNOWN_EVENTS = frozenset(
    {
        *EMITTED_EVENTS,
        "SnapshotComplete",
        "DynamicImageComplete",
        "UploadByURLComplete",
        "CreateAuditComplete",
        "AIMediaAuditComplete",
        "AIMediaDNAComplete",
        "VideoAnalysisComplete",
        "AIVideoTagComplete",
        "ProduceMediaComplete",
        "MediaBaseChangeComplete",
        "DeleteMediaComplete",
        "AddLiveRecordVideoComplete",
        "LiveRecordVideoComposeStart",
    }
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vod_message_callbacks (
    app_id TEXT PRIMARY KEY,
    callback_type TEXT NOT NULL,
    callback_url TEXT NOT NULL DEFAULT '',
    event_type_list TEXT NOT NULL,
    auth_switch INTEGER NOT NULL DEFAULT 0,
    auth_key TEXT NOT NULL DEFAULT '',
    mns_endpoint TEXT NOT NULL DEFAULT '',
    mns_queue_name TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCallback:
    """One AppId's callback configuration, validated (see ``validation.py``)."""

    app_id: str
    callback_type: str  # "HTTP" or "MNS"
    callback_url: str
    event_type_list: str  # "ALL" or comma-separated names, as given
    auth_switch: bool
    auth_key: str
    mns_endpoint: str = ""
    mns_queue_name: str = ""

    def wants(self, event_type: str) -> bool:
        if self.event_type_list.strip().upper() == "ALL":
            return True
        return event_type in {name.strip() for name in self.event_type_list.split(",")}


class CallbackConfigStore:
    """Message-callback configurations by AppId, in the state's database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(_SCHEMA)

    def put(self, config: MessageCallback) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO vod_message_callbacks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    config.app_id,
                    config.callback_type,
                    config.callback_url,
                    config.event_type_list,
                    int(config.auth_switch),
                    config.auth_key,
                    config.mns_endpoint,
                    config.mns_queue_name,
                ),
            )

    def get(self, app_id: str) -> MessageCallback | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT * FROM vod_message_callbacks WHERE app_id = ?", (app_id,)
            ).fetchone()
        if row is None:
            return None
        return MessageCallback(
            app_id=row["app_id"],
            callback_type=row["callback_type"],
            callback_url=row["callback_url"],
            event_type_list=row["event_type_list"],
            auth_switch=bool(row["auth_switch"]),
            auth_key=row["auth_key"],
            mns_endpoint=row["mns_endpoint"],
            mns_queue_name=row["mns_queue_name"],
        )

    def delete(self, app_id: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute("DELETE FROM vod_message_callbacks WHERE app_id = ?", (app_id,))
        return cursor.rowcount > 0

    def reset(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM vod_message_callbacks")


def callback_signature(url: str, timestamp: int, auth_key: str) -> str:
    """``X-VOD-SIGNATURE``: md5 of ``URL|timestamp|AuthKey``, lower-case hex."""
    text = f"{url}|{timestamp}|{auth_key}"
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def refusal_reason(url: str, allowed_hosts: frozenset[str]) -> str | None:
    """Why the emulator will not contact ``url`` (None: it may). Decided from the URL
    alone, without DNS: a name is loopback only if it is ``localhost``."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        return f"only http:// callback URLs are delivered, not {parts.scheme or 'no'} scheme"
    host = (parts.hostname or "").lower()
    if not host:
        return "the callback URL has no host"
    if host in allowed_hosts:
        return None
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"host {host!r} is not loopback and not in the emulator's callback_allowed_hosts: "
        "the emulator never sends traffic off the machine"
    )


class DeliveryStatus(str, Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed
    REFUSED = "refused"  # the target is not loopback or allowed: never contacted
    SKIPPED = "skipped"  # an MNS target: not emulated


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where one event goes and how it is signed."""

    callback_type: str
    url: str
    auth_key: str | None  # None: authentication off


@dataclass(slots=True, kw_only=True)
class Attempt:
    at: float
    http_status: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "http_status": self.http_status, "error": self.error}


@dataclass(slots=True, kw_only=True)
class Delivery:
    """One event on its way to one target; mutated only under the dispatcher's lock."""

    delivery_id: int
    event_type: str
    media_id: str
    payload: dict[str, Any]
    target: Target
    created_at: float
    status: DeliveryStatus
    reason: str | None = None
    next_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        # The URL without its query (which may carry the receiver's own secrets); never
        # the AuthKey or the signature.
        parts = urlsplit(self.target.url)
        shown_url = parts._replace(query="", fragment="").geturl()
        return {
            "id": self.delivery_id,
            "event_type": self.event_type,
            "media_id": self.media_id,
            "callback_type": self.target.callback_type,
            "url": shown_url,
            "signed": self.target.auth_key is not None,
            "status": self.status.value,
            "reason": self.reason,
            "created_at": self.created_at,
            "attempts": [attempt.to_json() for attempt in self.attempts],
            "payload": self.payload,
        }


Ticker = Callable[[], float | None]


class CallbackDispatcher:
    """Delivers events on a worker thread, started on demand and gone when idle.

    The worker also drives the VOD lifecycle through ``ticker`` (which emits due events
    and returns the next lifecycle instant), so a video turns ``Normal`` and its
    ``TranscodeComplete`` goes out on time even when nobody reads it. Waits are
    condition waits bounded by the next deadline; :meth:`wake` (called when the clock is
    moved or a request may have changed something) re-evaluates at once.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        settings: Settings,
        allowed_hosts: frozenset[str],
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._allowed_hosts = allowed_hosts
        self._cond = threading.Condition()
        self._records: deque[Delivery] = deque(maxlen=MAX_RECORDS)
        self._pending: list[Delivery] = []
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._ticker: Ticker | None = None
        self._lifecycle_due: float | None = None
        self._closed = False

    def set_ticker(self, ticker: Ticker) -> None:
        self._ticker = ticker

    # -- producer side -----------------------------------------------------------------

    def enqueue(
        self, *, event_type: str, media_id: str, payload: dict[str, Any], target: Target
    ) -> None:
        now = self._clock.now()
        delivery = Delivery(
            delivery_id=next(self._ids),
            event_type=event_type,
            media_id=media_id,
            payload=payload,
            target=target,
            created_at=now,
            status=DeliveryStatus.PENDING,
            next_at=now,
        )
        if target.callback_type != "HTTP":
            delivery.status = DeliveryStatus.SKIPPED
            delivery.reason = "MNS queues are not emulated; the event was not sent"
        else:
            delivery.reason = refusal_reason(target.url, self._allowed_hosts)
            if delivery.reason is not None:
                delivery.status = DeliveryStatus.REFUSED
                log.warning("callback %s refused: %s", event_type, delivery.reason)
        with self._cond:
            self._records.append(delivery)
            if delivery.status is DeliveryStatus.PENDING:
                self._pending.append(delivery)
                self._ensure_worker()
            self._cond.notify_all()

    def schedule(self, lifecycle_due: float | None) -> None:
        """Note the next lifecycle instant; the worker runs while one is pending."""
        with self._cond:
            self._lifecycle_due = lifecycle_due
            if lifecycle_due is not None:
                self._ensure_worker()
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- control plane -----------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        with self._cond:
            return [delivery.to_json() for delivery in self._records]

    def wait_settled(self, timeout: float) -> bool:
        """Block until no delivery is pending (True), or ``timeout`` seconds pass (False).
        For tests and the in-process mode: a condition wait, not a poll."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout=timeout)

    def clear(self) -> None:
        """Forget the records and drop pending deliveries (reset)."""
        with self._cond:
            self._records.clear()
            self._pending.clear()
            self._lifecycle_due = None
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the worker for good (the state is going away)."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._lifecycle_due = None
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # -- worker ------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._closed or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(
            target=self._run, name="emulator-vod-callbacks", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    self._thread = None
                    return
                now = self._clock.now()
                due = [d for d in self._pending if d.next_at <= now]
                tick_due = self._lifecycle_due is not None and self._lifecycle_due <= now
            if tick_due and self._ticker is not None:
                try:
                    self.schedule(self._ticker())
                except Exception:  # the state may be closing; never kill the process
                    log.exception("VOD lifecycle tick failed")
                    self.schedule(None)
            for delivery in due:
                self._attempt(delivery)
            with self._cond:
                deadlines = [d.next_at for d in self._pending]
                if self._lifecycle_due is not None:
                    deadlines.append(self._lifecycle_due)
                if not deadlines or self._closed:
                    self._thread = None
                    return
                wait = min(deadlines) - self._clock.now()
                if wait > 0:
                    # Bounded: a frozen or jumped clock is re-read at least once a second.
                    self._cond.wait(timeout=min(wait, 1.0))

    def _attempt(self, delivery: Delivery) -> None:
        target = delivery.target
        body = json.dumps(delivery.payload, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "vodref-emulator"}
        if target.auth_key is not None:
            timestamp = int(self._clock.now())
            headers["X-VOD-TIMESTAMP"] = str(timestamp)
            headers["X-VOD-SIGNATURE"] = callback_signature(target.url, timestamp, target.auth_key)
        status, error = _post(target.url, body, headers, self._settings.callback_timeout_seconds)
        now = self._clock.now()
        with self._cond:
            delivery.attempts.append(Attempt(at=now, http_status=status, error=error))
            if status == 200:
                delivery.status = DeliveryStatus.DELIVERED
            elif len(delivery.attempts) >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.reason = f"{MAX_ATTEMPTS} attempts failed"
            else:
                delivery.next_at = now + self._settings.callback_retry_delay_seconds
                return
            if delivery in self._pending:
                self._pending.remove(delivery)
            self._cond.notify_all()


def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """One HTTP POST with the standard library (never through a proxy or a mock)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection = http.client.HTTPConnection(
        parts.hostname or "", parts.port or 80, timeout=timeout or None
    )
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
