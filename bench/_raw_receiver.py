"""The least a Python server on this machine pays to take in, check and keep a body: the
"raw receiver" contender of bench/bench_emulator.py.

It speaks no HTTP. Each connection sends bodies as an 8-byte big-endian length followed by
the bytes; the receiver reads each one exactly as the emulator does (the same
:func:`emulator.body_memory.read_sized_body` over the same :func:`emulator.server.wire.
socket_reader`: fresh memory as the bytes arrive, one ``recv`` per body), computes its MD5
and CRC-64 with the emulator's own functions, keeps it in memory as the in-memory emulator
does, and answers the 16-byte MD5. One thread per connection, like the emulator.

So the raw receiver's CPU per GiB, less the floor (MD5 + CRC-64 alone), is the kernel's share
(the socket copy, fresh zeroed pages) that any server keeping bodies in memory pays here; the
emulator's CPU over the raw receiver's is what HTTP, signatures and the service model add.

Run by the benchmark as ``python bench/_raw_receiver.py``; it prints
``raw-receiver listening on 127.0.0.1:PORT`` and serves until it is terminated.
"""

from __future__ import annotations

import socket
import struct
import threading

from emulator.body_memory import ClientStoppedShort, read_sized_body
from emulator.oss.checksums import crc64, md5_digest
from emulator.server.wire import socket_reader

BANNER = "raw-receiver listening on "
_LENGTH = struct.Struct(">Q")


def _serve(connection: socket.socket, kept: list[object], lock: threading.Lock) -> None:
    reader = socket_reader(connection, 60.0)
    with connection:
        while True:
            head = reader.read(_LENGTH.size)
            if len(head) < _LENGTH.size:
                return
            (length,) = _LENGTH.unpack(head)
            try:
                body = read_sized_body(reader, length, kept=True)
            except ClientStoppedShort:
                return
            digest = md5_digest(body)
            crc64(body)
            with lock:
                kept.append(body)
            connection.sendall(digest)


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = listener.getsockname()[:2]
    print(f"{BANNER}{host}:{port}", flush=True)
    kept: list[object] = []
    lock = threading.Lock()

    def accept() -> None:
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=_serve, args=(connection, kept, lock), daemon=True).start()

    accept()  # until the benchmark terminates the process


if __name__ == "__main__":
    main()
