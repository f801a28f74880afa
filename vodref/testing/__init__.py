"""In-memory stand-ins for the driver's side effects, for unit tests and examples: an OSS
(:class:`MemoryTransport`, scriptable failures), a checkpoint store, a clock that moves only
when told to, and byte sources (:class:`BytesSource` is also what ``add_file(bytes)`` uses).
The one wrapping transport, :class:`ForwardingTransport`, lives in :mod:`vodref.transport`
because the CLI uses it too; it is re-exported here for tests that observe calls."""

from ..sources import BytesSource
from ..transport import ForwardingTransport
from .clock import ManualClock
from .stores import MemoryCheckpointStore
from .transport import MemoryTransport

__all__ = [
    "BytesSource",
    "ForwardingTransport",
    "ManualClock",
    "MemoryCheckpointStore",
    "MemoryTransport",
]
