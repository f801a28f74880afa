"""The scenario library, keyed by the requirement ids in ``specs/``.

Each scenario states what it uploads, the faults it injects through the emulator's control
plane (their JSON form, as ``POST /_emulator/faults`` takes it), what the subject does
mid-way (:class:`~vodref.conformance.model.Interrupt`) and the checks that must hold; each
check cites the spec ids it proves and, where the JS SDK 1.5.x differs, the ``UP-DEV`` ids
of ``specs/deviations.md``.

Sizes are small on purpose (the whole library runs in well under two minutes): parts are
the 100 KiB minimum. The "10,000+ parts" boundary is checked on the plan, not uploaded: a
sparse 1,024,000,001-byte file (10,000 x 100 KiB + 1) is started, halted after two parts,
and the part size the subject chose is read from the parts on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import checks as c
from .model import Capability, FileSpec, Interrupt, InterruptKind, Mode, Scenario

__all__ = ["SCENARIOS", "by_id"]

KIB = 1024
PART = 102_400  # the OSS minimum part size, and the suite's part size


def _fault(
    operation: str, effect: Mapping[str, Any], *, times: int | None = 1, **match: Any
) -> dict[str, Any]:
    return {"match": {"operation": operation, **match}, "effect": dict(effect), "times": times}


def _window(part_number: int, seconds: float = 1.0) -> dict[str, Any]:
    """A slow part, so the subject's interrupt lands while parts are still to come."""
    return _fault("UploadPart", {"type": "delay", "seconds": seconds}, part_number=part_number)


TOKEN_EXPIRED = {
    "type": "error",
    "status": 403,
    "code": "SecurityTokenExpired",
    "message": "The security token you provided has expired.",
}

_VIDEO = FileSpec(label="a", name="a.mp4", size=8 * PART + 1234)


def _success(*labels: str, deviations: tuple[str, ...] = ()) -> tuple[c.Check, ...]:
    return (
        c.final_states(
            dict.fromkeys(labels, "Success"), "UP-STATE-001", "UP-CB-003", deviations=deviations
        ),
        c.objects_match_sources(*labels, deviations=deviations),
    )


def _token_expiry(mode: Mode, operation: str) -> Scenario:
    where = "part" if operation == "UploadPart" else "complete"
    match: dict[str, Any] = {"nth": 3} if operation == "UploadPart" else {}
    needs = {Capability.TOKEN_EXPIRY} | ({Capability.STS} if mode is Mode.STS else set())
    extra: tuple[c.Check, ...] = ()
    if mode is Mode.STS:
        extra = (c.operation_count("AssumeRole", "UP-TOKEN-005", "UPL-API-006", at_least=2),)
    return Scenario(
        id=f"token-expiry-{where}-{mode.value}",
        title=f"SecurityTokenExpired on {operation} ({mode.value} mode)",
        spec_ids=("UP-TOKEN-001", "UP-TOKEN-003", "UP-CB-005", "UPL-API-005"),
        files=(_VIDEO,),
        mode=mode,
        faults=(_fault(operation, TOKEN_EXPIRED, service="oss", **match),),
        needs=frozenset(needs),
        checks=(
            *_success("a"),
            c.faults_fired(),
            c.trace_count("token-expired", "a", "UP-CB-005", exactly=1),
            c.trace_order("a", ["started", "token-expired", "succeeded"], "UP-TOKEN-003"),
            c.operation_count("RefreshUploadVideo", "UP-API-011", "UP-RESUME-003", at_least=1),
            c.operation_count("InitiateMultipartUpload", "UP-TOKEN-003", at_least=1, at_most=1),
            c.parts_resent_at_most(0, "UP-TOKEN-003"),
            c.same_video_throughout("a", "UP-RESUME-003"),
            c.open_uploads(0, "UP-PART-006"),
            *extra,
        ),
    )


def _transport_fault(
    name: str, operation: str, effect: Mapping[str, Any], ids: tuple[str, ...], **match: Any
) -> Scenario:
    return Scenario(
        id=f"fault-{name}",
        title=f"{effect['type']} on {operation}: retried, nothing lost",
        spec_ids=ids,
        files=(_VIDEO,),
        faults=(_fault(operation, effect, service="oss", **match),),
        checks=(
            *_success("a", deviations=("UP-DEV-005",)),
            c.faults_fired(),
            c.trace_count("failed", "a", "UP-RETRY-001", exactly=0, deviations=("UP-DEV-005",)),
            c.video_count(1, "UP-RESUME-003"),
            c.open_uploads(0, "UP-PART-006", deviations=("UP-DEV-005",)),
        ),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        id="small-put",
        title="A 50 KiB file: one PutObject, no multipart",
        spec_ids=("UP-PART-001", "UP-CB-008", "UPL-DRV-001"),
        files=(FileSpec(label="a", name="a.mp4", size=50 * KIB),),
        checks=(
            *_success("a"),
            c.operation_count("PutObject", "UP-PART-001", at_least=1, at_most=1),
            c.operation_count("InitiateMultipartUpload", "UP-PART-001", at_most=0),
            c.video_count(1, "UPL-DRV-001"),
            c.trace_order(
                "a",
                ["started", "progress", "succeeded", "ended"],
                "UP-CB-008",
                "UP-CB-001",
                "UP-CB-002",
                "UP-CB-007",
                deviations=("UP-DEV-002",),
            ),
        ),
    ),
    Scenario(
        id="multipart",
        title="An 11-part file, 3 parts in parallel",
        spec_ids=("UP-PART-002", "UP-PART-004", "UP-PART-005", "UP-PART-006", "UP-CRC-002"),
        files=(FileSpec(label="a", name="a.mp4", size=10 * PART + 4321),),
        parallel=3,
        checks=(
            *_success("a"),
            c.operation_count("UploadPart", "UP-PART-004", at_least=11, at_most=11),
            c.operation_count("CompleteMultipartUpload", "UP-PART-006", at_least=1, at_most=1),
            c.progress_monotonic("a", "UP-PROG-002", "UP-PROG-001"),
            c.trace_order(
                "a",
                ["started", "progress", "progress", "succeeded", "ended"],
                "UP-CB-008",
                deviations=("UP-DEV-002",),
            ),
            c.open_uploads(0, "UP-PART-006"),
            c.video_count(1, "UPL-DRV-001"),
        ),
    ),
    Scenario(
        id="several-files",
        title="Three files in one list, uploaded in list order",
        spec_ids=("UPL-API-012", "UP-STATE-006", "UP-CB-007"),
        files=(
            FileSpec(label="a", name="a.mp4", size=30 * KIB),
            FileSpec(label="b", name="b.mp4", size=3 * PART + 7),
            FileSpec(label="c", name="c.mp4", size=2 * PART + 99),
        ),
        needs=frozenset({Capability.SEVERAL_FILES}),
        checks=(
            *_success("a", "b", "c"),
            c.video_count(3, "UPL-API-012"),
            c.trace_order(
                None,
                ["started", "succeeded", "started", "succeeded", "started", "succeeded"],
                "UP-STATE-006",
                "UPL-API-012",
            ),
            c.trace_count("ended", None, "UP-CB-007", exactly=1, deviations=("UP-DEV-002",)),
        ),
    ),
    _token_expiry(Mode.UPLOAD_AUTH, "UploadPart"),
    _token_expiry(Mode.STS, "UploadPart"),
    _token_expiry(Mode.UPLOAD_AUTH, "CompleteMultipartUpload"),
    _token_expiry(Mode.STS, "CompleteMultipartUpload"),
    _transport_fault(
        "5xx",
        "UploadPart",
        {"type": "error", "status": 503, "code": "ServiceUnavailable", "message": "slow down"},
        ("UP-RETRY-001", "UP-RETRY-003", "UP-DEV-005"),
        nth=2,
        times=2,
    ),
    _transport_fault(
        "reset", "UploadPart", {"type": "reset_before_body"}, ("UP-RETRY-001", "UPL-DRV-001"), nth=3
    ),
    _transport_fault(
        "stall",
        "UploadPart",
        {"type": "stall", "seconds": 0.5},
        ("UP-RETRY-001", "UPL-DRV-001"),
        nth=2,
    ),
    _transport_fault(
        "truncate",
        "CompleteMultipartUpload",
        {"type": "truncate", "truncate_at": 24},
        ("UP-RESUME-006", "UPL-DRV-007"),
    ),
    _transport_fault(
        "drop-after-commit",
        "CompleteMultipartUpload",
        {"type": "drop_after_commit"},
        ("UP-RESUME-006", "UPL-DRV-007"),
    ),
    Scenario(
        id="fault-access-denied",
        title="A 403 AccessDenied on a part is not retried and reaches onUploadFailed",
        spec_ids=("UP-RETRY-002", "UP-CB-004", "UPL-DRV-004", "UP-DEV-003"),
        files=(_VIDEO,),
        faults=(
            _fault(
                "UploadPart",
                {"type": "error", "status": 403, "code": "AccessDenied", "message": "denied"},
                service="oss",
                nth=2,
                times=None,
            ),
        ),
        checks=(
            c.final_states({"a": "Failure"}, "UP-RETRY-002"),
            c.custom(
                "onUploadFailed carries the service code AccessDenied",
                lambda o: (
                    None
                    if any(
                        e.name == "failed" and e.detail.get("code") == "AccessDenied"
                        for e in o.run.trace
                    )
                    else "no failed(code=AccessDenied)"
                ),
                "UP-CB-004",
                "UPL-DRV-004",
                deviations=("UP-DEV-003",),
            ),
            c.trace_count("ended", None, "UP-CB-007", exactly=1, deviations=("UP-DEV-002",)),
            c.faults_fired(),
        ),
    ),
    Scenario(
        id="stop-start",
        title="stopUpload after 2 parts, then startUpload: the same upload continues",
        spec_ids=("UP-API-007", "UP-API-008", "UPL-API-008", "UP-CB-006"),
        files=(_VIDEO,),
        parallel=1,
        faults=(_window(4),),
        interrupt=Interrupt(kind=InterruptKind.STOP, file="a", after_parts=2),
        needs=frozenset({Capability.STOP_START}),
        checks=(
            *_success("a"),
            c.trace_order(
                "a", ["started", "canceled", "started", "succeeded"], "UP-CB-006", "UP-CB-001"
            ),
            c.operation_count("InitiateMultipartUpload", "UPL-API-008", at_least=1, at_most=1),
            c.parts_resent_at_most(0, "UPL-API-008", deviations=("UP-DEV-025",)),
            c.same_video_throughout("a", "UP-RESUME-003"),
            c.open_uploads(0, "UP-PART-006"),
        ),
    ),
    Scenario(
        id="cancel-resume",
        title="cancelFile after 2 parts (aborted on the server), resumeFile: same video",
        spec_ids=("UP-API-003", "UP-API-004", "UP-CANCEL-001", "UP-CANCEL-004", "UPL-API-007"),
        files=(_VIDEO,),
        parallel=1,
        faults=(_window(4),),
        interrupt=Interrupt(kind=InterruptKind.CANCEL, file="a", after_parts=2),
        needs=frozenset({Capability.CANCEL_RESUME}),
        checks=(
            *_success("a"),
            c.trace_order("a", ["started", "canceled", "started", "succeeded"], "UP-CB-006"),
            c.operation_count(
                "AbortMultipartUpload",
                "UP-CANCEL-001",
                "UPL-API-007",
                at_least=1,
                deviations=("UP-DEV-008",),
            ),
            c.operation_count("InitiateMultipartUpload", "UP-CANCEL-004", at_least=2, at_most=2),
            c.same_video_throughout("a", "UP-CANCEL-004", "UP-RESUME-003"),
            c.open_uploads(0, "UP-CANCEL-001", deviations=("UP-DEV-008",)),
        ),
    ),
    Scenario(
        id="delete-mid-upload",
        title="deleteFile of the uploading file: aborted; the next file still uploads",
        spec_ids=("UP-API-002", "UP-CANCEL-001", "UP-CANCEL-003"),
        files=(_VIDEO, FileSpec(label="b", name="b.mp4", size=2 * PART + 5)),
        parallel=1,
        faults=(_window(4),),
        interrupt=Interrupt(kind=InterruptKind.DELETE, file="a", after_parts=2),
        needs=frozenset({Capability.DELETE, Capability.SEVERAL_FILES}),
        checks=(
            c.final_states({"a": "Deleted", "b": "Success"}, "UP-API-002"),
            c.objects_match_sources("b"),
            c.operation_count(
                "AbortMultipartUpload", "UP-CANCEL-001", at_least=1, deviations=("UP-DEV-008",)
            ),
            c.open_uploads(0, "UP-CANCEL-001", deviations=("UP-DEV-008",)),
            c.trace_count("ended", None, "UP-CB-007", exactly=1, deviations=("UP-DEV-002",)),
        ),
    ),
    Scenario(
        id="crash-resume",
        title="The process dies after 3 parts; a new uploader resumes from the checkpoint",
        spec_ids=(
            "UPL-CKPT-001",
            "UP-RESUME-001",
            "UP-RESUME-002",
            "UP-RESUME-003",
            "UP-CKPT-004",
            "UP-DEV-016",
            "UP-DEV-027",
        ),
        files=(_VIDEO,),
        parallel=2,
        faults=(_window(6),),
        interrupt=Interrupt(kind=InterruptKind.CRASH, file="a", after_parts=3),
        needs=frozenset({Capability.CRASH_RESUME}),
        checks=(
            *_success("a"),
            c.operation_count("ListParts", "UP-RESUME-001", at_least=1, deviations=("UP-DEV-016",)),
            c.operation_count("InitiateMultipartUpload", "UPL-CKPT-001", at_least=1, at_most=1),
            c.same_video_throughout("a", "UP-RESUME-003", deviations=("UP-DEV-027",)),
            c.parts_resent_at_most(3, "UPL-CKPT-001", "UP-RESUME-002"),
            c.open_uploads(0, "UP-PART-006"),
        ),
    ),
    Scenario(
        id="changed-source",
        title="The file changes (same name and size) between crash and resume",
        spec_ids=("UPL-CKPT-002", "UP-CKPT-002", "UP-DEV-015"),
        files=(_VIDEO,),
        parallel=2,
        faults=(_window(6),),
        interrupt=Interrupt(kind=InterruptKind.CRASH, file="a", after_parts=3),
        suite_action="change-source",
        needs=frozenset({Capability.CRASH_RESUME}),
        checks=(
            c.final_states({"a": "Success"}, "UP-STATE-001"),
            c.objects_match_sources(
                "a", spec_ids=("UPL-CKPT-002", "UP-CKPT-002"), deviations=("UP-DEV-015",)
            ),
            c.video_count(1, "UPL-CKPT-002", deviations=("UP-DEV-015",)),
        ),
    ),
    Scenario(
        id="image",
        title="A PNG goes through CreateUploadImage",
        spec_ids=("UPL-API-011", "UP-API-010", "UP-DEV-010"),
        files=(FileSpec(label="a", name="cover.png", size=40 * KIB),),
        needs=frozenset({Capability.IMAGE}),
        checks=(
            *_success("a"),
            c.operation_count("CreateUploadImage", "UPL-API-011", at_least=1, at_most=1),
            c.image_count(1, "UPL-API-011"),
            c.video_count(0, "UP-DEV-010"),
            c.custom(
                "the file reports an ImageURL",
                lambda o: None if o.run.files["a"].image_url else "no image URL",
                "UPL-API-011",
            ),
        ),
    ),
    Scenario(
        id="sts-refresh-mid-upload",
        title="STS mode: every token expires after 2 parts; a new STS token continues",
        spec_ids=("UP-API-012", "UPL-API-006", "UP-TOKEN-005", "UP-DEV-009"),
        files=(_VIDEO,),
        mode=Mode.STS,
        parallel=1,
        faults=(_window(4),),
        interrupt=Interrupt(kind=InterruptKind.HOOK, file="a", after_parts=2),
        suite_action="expire-tokens",
        needs=frozenset({Capability.STS, Capability.STS_REFRESH, Capability.TOKEN_EXPIRY}),
        checks=(
            *_success("a"),
            c.trace_count("token-expired", "a", "UP-CB-005", exactly=1),
            c.operation_count(
                "RefreshUploadVideo",
                "UP-API-012",
                "UPL-API-006",
                at_least=1,
                deviations=("UP-DEV-009",),
            ),
            c.operation_count("AssumeRole", "UP-TOKEN-005", at_least=2),
            c.operation_count(
                "InitiateMultipartUpload",
                "UP-API-012",
                at_least=1,
                at_most=1,
                deviations=("UP-DEV-009",),
            ),
            c.same_video_throughout("a", "UP-API-012", deviations=("UP-DEV-009",)),
        ),
    ),
    Scenario(
        id="sts-expired-on-vod-call",
        title="STS mode: CreateUploadVideo says the STS token expired; a new token continues",
        spec_ids=("UP-TOKEN-001", "UP-TOKEN-005", "UPL-API-006"),
        files=(_VIDEO,),
        mode=Mode.STS,
        faults=(
            _fault(
                "CreateUploadVideo",
                {
                    "type": "error",
                    "status": 403,
                    "code": "InvalidSecurityToken.Expired",
                    "message": "Specified SecurityToken is expired.",
                },
                service="vod",
            ),
        ),
        needs=frozenset({Capability.STS, Capability.TOKEN_EXPIRY}),
        checks=(
            *_success("a"),
            c.faults_fired(),
            c.trace_count("token-expired", "a", "UP-CB-005", "UP-TOKEN-005", exactly=1),
            c.operation_count("AssumeRole", "UP-TOKEN-005", at_least=2),
            c.operation_count("CreateUploadVideo", "UP-TOKEN-005", at_least=1, at_most=1),
            c.video_count(1, "UP-TOKEN-005"),
        ),
    ),
    Scenario(
        id="boundary-100k-minus-1",
        title="102,399 bytes: still one PutObject",
        spec_ids=("UP-PART-001",),
        files=(FileSpec(label="a", name="a.mp4", size=PART - 1),),
        checks=(
            *_success("a"),
            c.operation_count("PutObject", "UP-PART-001", at_least=1, at_most=1),
            c.operation_count("InitiateMultipartUpload", "UP-PART-001", at_most=0),
        ),
    ),
    Scenario(
        id="boundary-100k",
        title="102,400 bytes: multipart with a single part",
        spec_ids=("UP-PART-002",),
        files=(FileSpec(label="a", name="a.mp4", size=PART),),
        checks=(
            *_success("a"),
            c.operation_count("InitiateMultipartUpload", "UP-PART-002", at_least=1, at_most=1),
            c.operation_count("UploadPart", "UP-PART-002", at_least=1, at_most=1),
            c.operation_count("PutObject", "UP-PART-002", at_most=0),
        ),
    ),
    Scenario(
        id="boundary-10000-parts",
        title="10,000 x 100 KiB + 1 byte: the plan stays within 10,000 parts (halted early)",
        spec_ids=("UP-PART-003", "UP-DEV-018"),
        files=(FileSpec(label="a", name="a.mp4", size=10_000 * PART + 1, sparse=True),),
        parallel=1,
        faults=(_window(4),),
        interrupt=Interrupt(kind=InterruptKind.HALT, file="a", after_parts=2),
        needs=frozenset({Capability.STOP_START, Capability.SMALL_PARTS}),
        checks=(
            c.planned_parts_within(10_000, "UP-PART-003", deviations=("UP-DEV-018",)),
            c.operation_count("CompleteMultipartUpload", "UP-PART-003", at_most=0),
        ),
    ),
)


def by_id(ids: list[str] | None) -> tuple[Scenario, ...]:
    """The scenarios named (in library order), or all; an unknown id raises KeyError."""
    if not ids:
        return SCENARIOS
    known = {s.id for s in SCENARIOS}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    wanted = set(ids)
    return tuple(s for s in SCENARIOS if s.id in wanted)
