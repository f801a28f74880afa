"""``emulator.serve()``: the emulator on a loopback socket in one call, like moto's
``ThreadedMotoServer`` (but bound to 127.0.0.1 and a free port by default, and ready when
it returns: the server thread has signalled that it serves).

    with emulator.serve() as server:
        bucket = oss2.Bucket(oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
                             server.url, "media")

The returned :class:`~emulator.server.ThreadedServer` has ``url``, ``port``, ``state`` and
``stop()``; the control plane is installed, and so are namespaces (one emulator per name
in the same process, for pytest-xdist workers sharing this one).
"""

from __future__ import annotations

from emulator.config import EmulatorConfig
from emulator.control.responses import ControlHandler
from emulator.namespaces import Namespaces
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


class ServedEmulator(ThreadedServer):
    """A started :class:`ThreadedServer` that also stops its namespaces and state."""

    namespaces: Namespaces

    def __enter__(self) -> ServedEmulator:
        return self  # already started by serve()

    def stop(self) -> None:
        super().stop()
        self.namespaces.close()
        self.state.close()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    state: EmulatorState | None = None,
) -> ServedEmulator:
    """Start an emulator on ``host:port`` (a free port by default) and return it running."""
    served_state = state if state is not None else EmulatorState(config)
    namespaces = Namespaces(host=host, config=served_state.config)
    server = ServedEmulator(
        served_state,
        host,
        port,
        control=ControlHandler(served_state, namespaces=namespaces),
    )
    server.namespaces = namespaces
    server.start()
    return server
