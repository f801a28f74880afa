"""In-memory stand-ins for the driver's side effects, for unit tests and examples: an OSS
(:class:`MemoryTransport`, scriptable failures), a checkpoint store, a clock that moves only
when told to, and byte sources (:class:`BytesSource` is also what ``add_file(bytes)`` uses).
The one wrapping transport is :class:`vodref.transport.ForwardingTransport`."""

from ..sources import BytesSource
from .clock import ManualClock
from .stores import MemoryCheckpointStore
from .transport import MemoryTransport

__all__ = ["BytesSource", "ManualClock", "MemoryCheckpointStore", "MemoryTransport"]
