"""What a scenario expects, as checks over one :class:`Observation`.

An observation is everything visible after a subject ran: its trace and final file states,
the server's objects, open multipart uploads, videos and images, and the request log. A
:class:`Check` is a named predicate over it that cites the spec ids it proves and, where the
JS SDK 1.5.x behaves differently on purpose or by bug, the ``UP-DEV`` ids of
``specs/deviations.md``: a subject that declares such a deviation gets "expected
deviation" instead of "fail" when only that check fails.

Checks that read the server's side (``server=True``) need the emulator's control plane; on
the real cloud they are skipped with that reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import SubjectRun

_BASIC_EVENTS = frozenset({"started", "succeeded", "failed", "ended"})

__all__ = ["Check", "Observation", "SourceInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    """The source file as it is after the run."""

    size: int
    crc64: int
    part_size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    run: SubjectRun
    sources: Mapping[str, SourceInfo]
    objects: Sequence[Mapping[str, Any]] = ()
    uploads: Sequence[Mapping[str, Any]] = ()
    videos: Sequence[Mapping[str, Any]] = ()
    images: Sequence[Mapping[str, Any]] = ()
    requests: Sequence[Mapping[str, Any]] = ()
    fault_hits: Sequence[Mapping[str, Any]] = ()
    server_visible: bool = True

    def names(self, file: str | None = None) -> list[str]:
        return [e.name for e in self.run.trace if file is None or e.file in (file, None)]

    def ok_requests(self, operation: str) -> list[Mapping[str, Any]]:
        return [
            r
            for r in self.requests
            if r.get("operation") == operation and 200 <= int(r.get("status") or 0) < 300
        ]

    def parts_resent(self) -> int:
        """Successful UploadPart requests beyond the first for the same key and part number
        (across upload ids): what a resume or retry sent again."""
        counts = Counter(
            (r.get("key"), r.get("part_number")) for r in self.ok_requests("UploadPart")
        )
        return sum(n - 1 for n in counts.values())

    def bytes_resent(self, part_size: int) -> int:
        """The bytes of :meth:`parts_resent`: a full part each, the last part of an object
        its remainder (the object's size from its video)."""
        sizes = {v.get("object_key"): int(v.get("size") or 0) for v in self.videos}
        requests = self.ok_requests("UploadPart")
        last: dict[Any, int] = {}
        for r in requests:
            key, number = r.get("key"), int(r.get("part_number") or 0)
            last[key] = max(last.get(key, 0), number)
        counts = Counter((r.get("key"), int(r.get("part_number") or 0)) for r in requests)
        total = 0
        for (key, number), n in counts.items():
            size = part_size
            if number == last[key] and sizes.get(key):
                size = sizes[key] - (number - 1) * part_size
            total += (n - 1) * max(size, 0)
        return total

    def summary(self, part_size: int) -> dict[str, int]:
        """What the server shows, in numbers, for reports."""
        return {
            "objects": len(self.objects),
            "videos": len(self.videos),
            "images": len(self.images),
            "open uploads": len(self.uploads),
            "requests": len(self.requests),
            "parts sent": len(self.ok_requests("UploadPart")),
            "parts re-sent": self.parts_resent(),
            "bytes re-sent": self.bytes_resent(part_size),
            "fault hits": len(self.fault_hits),
        }

    def object_for(self, video_id: str | None) -> Mapping[str, Any] | None:
        for video in self.videos:
            if video.get("video_id") == video_id:
                for obj in self.objects:
                    if obj.get("key") == video.get("object_key"):
                        return obj
        return None


Verdict = str | None  # None: holds; a string: why not


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """``describe`` is what a report prints; ``predicate`` returns None when the check
    holds, else a one-line reason."""

    describe: str
    spec_ids: tuple[str, ...]
    predicate: Callable[[Observation], Verdict] = field(repr=False, compare=False)
    deviations: tuple[str, ...] = ()
    server: bool = False
    # Reads callbacks beyond started/succeeded/failed/ended: skipped for a subject that
    # does not declare Capability.CALLBACKS (a server-side SDK has none).
    callbacks: bool = False

    def evaluate(self, observation: Observation) -> Verdict:
        try:
            return self.predicate(observation)
        except Exception as error:  # a check that cannot read the observation failed
            return f"check could not be evaluated: {type(error).__name__}: {error}"


# ---------------------------------------------------------------- check builders


def final_states(
    states: Mapping[str, str], *spec_ids: str, deviations: tuple[str, ...] = ()
) -> Check:
    def predicate(o: Observation) -> Verdict:
        wrong = {
            label: (o.run.files[label].state if label in o.run.files else "missing")
            for label, want in states.items()
            if label not in o.run.files or o.run.files[label].state != want
        }
        if not wrong:
            return None
        got = ", ".join(f"{k}={v}" for k, v in wrong.items())
        return f"final states {got}; want {dict(states)}"

    text = ", ".join(f"{k} {v}" for k, v in states.items())
    return Check(
        describe=f"final file states: {text}",
        spec_ids=spec_ids or ("UP-STATE-001",),
        predicate=predicate,
        deviations=deviations,
    )


def objects_match_sources(
    *labels: str,
    spec_ids: tuple[str, ...] = ("UP-CRC-002",),
    deviations: tuple[str, ...] = (),
) -> Check:
    """Each labelled file's video (or image) object has the source's size and CRC-64."""

    def predicate(o: Observation) -> Verdict:
        for label in labels:
            outcome = o.run.files.get(label)
            source = o.sources[label]
            if outcome is None:
                return f"{label}: no outcome"
            if outcome.image_url is not None or outcome.video_id is None:
                candidates = [obj for obj in o.objects if obj.get("size") == source.size]
                if not any(obj.get("crc64") == source.crc64 for obj in candidates):
                    return f"{label}: no object with the source's size and CRC-64"
                continue
            obj = o.object_for(outcome.video_id)
            if obj is None:
                return f"{label}: no object for video {outcome.video_id}"
            if obj.get("size") != source.size or obj.get("crc64") != source.crc64:
                return (
                    f"{label}: object size {obj.get('size')} crc64 {obj.get('crc64')}, "
                    f"source size {source.size} crc64 {source.crc64}"
                )
        return None

    return Check(
        describe=f"objects equal the sources ({', '.join(labels)}): size and CRC-64",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def video_count(count: int, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    def predicate(o: Observation) -> Verdict:
        return None if len(o.videos) == count else f"{len(o.videos)} videos on the server"

    return Check(
        describe=f"{count} video(s) on the server (no duplicate, no orphan)",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def image_count(count: int, *spec_ids: str) -> Check:
    def predicate(o: Observation) -> Verdict:
        return None if len(o.images) == count else f"{len(o.images)} images on the server"

    return Check(
        describe=f"{count} image(s) on the server",
        spec_ids=spec_ids,
        predicate=predicate,
        server=True,
    )


def open_uploads(count: int, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    def predicate(o: Observation) -> Verdict:
        return None if len(o.uploads) == count else f"{len(o.uploads)} open multipart uploads"

    return Check(
        describe=f"{count} multipart upload(s) left open",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def operation_count(
    operation: str,
    *spec_ids: str,
    at_least: int = 0,
    at_most: int | None = None,
    deviations: tuple[str, ...] = (),
) -> Check:
    def predicate(o: Observation) -> Verdict:
        n = len(o.ok_requests(operation))
        if n < at_least or (at_most is not None and n > at_most):
            return f"{n} successful {operation}"
        return None

    bound = f"{at_least}..{'' if at_most is None else at_most}"
    return Check(
        describe=f"successful {operation} requests: {bound}",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def parts_resent_at_most(limit: int, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    def predicate(o: Observation) -> Verdict:
        n = o.parts_resent()
        return None if n <= limit else f"{n} parts sent again"

    return Check(
        describe=f"at most {limit} part(s) sent again",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def faults_fired(at_least: int = 1) -> Check:
    def predicate(o: Observation) -> Verdict:
        return None if len(o.fault_hits) >= at_least else f"{len(o.fault_hits)} fault hits"

    return Check(
        describe=f"the injected fault fired ({at_least}+ hits)",
        spec_ids=("EMU-FLT-001",),
        predicate=predicate,
        server=True,
    )


def trace_order(
    file: str | None, names: Sequence[str], *spec_ids: str, deviations: tuple[str, ...] = ()
) -> Check:
    """``names`` occur in this order in the trace (other events may come between)."""

    def predicate(o: Observation) -> Verdict:
        events = [e.name for e in o.run.trace if file is None or e.file == file or e.file is None]
        position = 0
        for name in names:
            try:
                position = events.index(name, position) + 1
            except ValueError:
                return f"no {name!r} after position {position} in {events[:40]}"
        return None

    return Check(
        describe=f"callbacks in order{'' if file is None else f' for {file}'}: "
        + " -> ".join(names),
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        callbacks=not set(names) <= _BASIC_EVENTS,
    )


def trace_count(
    name: str, file: str | None, *spec_ids: str, exactly: int, deviations: tuple[str, ...] = ()
) -> Check:
    def predicate(o: Observation) -> Verdict:
        n = sum(1 for e in o.run.trace if e.name == name and (file is None or e.file == file))
        return None if n == exactly else f"{n} {name!r} events"

    return Check(
        describe=f"{name!r} reported exactly {exactly} time(s)",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        callbacks=name not in _BASIC_EVENTS,
    )


def progress_monotonic(file: str, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    """Within one attempt progress never goes back (a new attempt may restart at 0)."""

    def predicate(o: Observation) -> Verdict:
        last = -1.0
        for event in o.run.trace:
            if event.file != file:
                continue
            if event.name in {"started", "canceled"}:
                last = -1.0  # a new start or a cancel may restart the count
            if event.name == "progress":
                value = float(event.detail.get("ratio", 0.0))
                if value < last:
                    return f"progress went back from {last} to {value}"
                last = value
        return None

    return Check(
        describe=f"progress of {file} never goes back within an attempt",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        callbacks=True,
    )


def same_video_throughout(file: str, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    """One CreateUploadVideo for the file's whole life; later credentials are refreshes."""

    def predicate(o: Observation) -> Verdict:
        created = len(o.ok_requests("CreateUploadVideo"))
        if created != 1:
            return f"{created} CreateUploadVideo calls"
        video_id = o.run.files.get(file)
        if video_id is None or video_id.video_id is None:
            return f"{file} has no VideoId"
        if [v.get("video_id") for v in o.videos] != [video_id.video_id]:
            return "the reported VideoId is not the one video on the server"
        return None

    return Check(
        describe=f"{file} keeps one video (RefreshUploadVideo, never a second Create)",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def planned_parts_within(limit: int, *spec_ids: str, deviations: tuple[str, ...] = ()) -> Check:
    """The open (halted) upload's part size plans at most ``limit`` parts for the file."""

    def predicate(o: Observation) -> Verdict:
        sizes = {part.get("size") for u in o.uploads for part in u.get("parts", [])}
        if not o.uploads or not sizes:
            return "no open upload with parts to read the plan from"
        part_size = max(s for s in sizes if isinstance(s, int))
        source = next(iter(o.sources.values()))
        planned = -(-source.size // part_size)
        return None if planned <= limit else f"part size {part_size} plans {planned} parts"

    return Check(
        describe=f"the plan has at most {limit:,} parts (read from the parts on the server)",
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=True,
    )


def custom(
    describe: str,
    predicate: Callable[[Observation], Verdict],
    *spec_ids: str,
    deviations: tuple[str, ...] = (),
    server: bool = False,
) -> Check:
    return Check(
        describe=describe,
        spec_ids=spec_ids,
        predicate=predicate,
        deviations=deviations,
        server=server,
    )
