"""A task's published TCP port on the host's loopback, forwarded to the task's network namespace.

Docker publishes ports only when it makes a namespace; a task that borrows a kept one (see
``sandboxes``) has its ports published here instead, the way Docker's own userland proxy does it: a
listener on 127.0.0.1 that opens a connection to the task's address for each client and copies bytes
both ways until either side closes.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_CHUNK = 65536
_CONNECT_SECONDS = 5.0


class PortInUse(OSError):
    """The host port is taken (by another task or any other program)."""


class PortForward:
    def __init__(self, target: tuple[str, int], host_port: int | None) -> None:
        """Listen on 127.0.0.1:``host_port`` (None: any free port); raises ``PortInUse``."""
        self.target = target
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As Go's listeners (Docker's proxy) do: the last task's closed connections must not hold the port.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", host_port or 0))
        except OSError as err:
            listener.close()
            raise PortInUse(
                err.errno, f"Bind for 127.0.0.1:{host_port} failed: port is already allocated"
            ) from None
        listener.listen(64)
        self._listener = listener
        self.host_port: int = listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()
        self._closed = False
        self._acceptor = threading.Thread(
            target=self._accept, name=f"ecs-sim-port-{self.host_port}", daemon=True
        )
        self._acceptor.start()

    def close(self) -> None:
        """Stop listening and cut every forwarded connection."""
        with self._lock:
            self._closed = True
            connections, self._open = self._open, set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self._listener.close()
        for connection in connections:
            connection.cut()
        self._acceptor.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=_CONNECT_SECONDS)
        except OSError:
            client.close()  # nothing listens in the task (yet): the client sees the connection closed
            return
        upstream.settimeout(None)
        connection = _Connection(client, upstream)
        with self._lock:
            if self._closed:
                connection.cut()
                return
            self._open.add(connection)
        threading.Thread(target=self._copy, args=(connection, upstream, client), daemon=True).start()
        self._copy(connection, client, upstream)

    def _copy(self, connection: _Connection, source: socket.socket, sink: socket.socket) -> None:
        """Bytes from ``source`` to ``sink`` until ``source`` ends, then half-close ``sink``; the
        connection is closed when both directions have ended, or at once on an error."""
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
            finished = connection.direction_ended()
        except OSError:
            finished = True
        if finished:
            with self._lock:
                self._open.discard(connection)
            connection.cut()


class _Connection:
    """A client's connection and the one opened for it to the task."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self._sockets = (client, upstream)
        self._ended = 0
        self._lock = threading.Lock()

    def direction_ended(self) -> bool:
        """True for the second direction to end."""
        with self._lock:
            self._ended += 1
            return self._ended == 2

    def cut(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
