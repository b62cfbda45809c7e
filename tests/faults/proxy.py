"""A TCP proxy a test starts in its own threads, to take a service away from the app and give
it back without touching the machine's Redis or PostgreSQL.

``up()`` forwards to the target; ``down()`` cuts every connection and stops listening (the
port refuses: a crashed server); ``silent()`` cuts every connection, then accepts new ones and
never answers (a hung server, or packets dropped after the handshake).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.mode = "down"
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    # -- modes -----------------------------------------------------------------------------------

    def up(self) -> None:
        self._cut()
        self.mode = "up"
        self._listen()

    def silent(self) -> None:
        self._cut()
        self.mode = "silent"
        self._listen()

    def down(self) -> None:
        self.mode = "down"
        self._cut()
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def close(self) -> None:
        self.down()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- plumbing --------------------------------------------------------------------------------

    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            listener.settimeout(0.2)
            self._listener = listener
        self._start(self._accept, listener)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by down()
            self._track(client)
            if self.mode == "up":
                self._start(self._pump, client)
            # silent: the connection is held open, nothing is read or answered

    def _pump(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self._track(server)
        peers = {client: server, server: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                sock.settimeout(5)  # recv follows readiness; sendall may wait for the peer
                selector.register(sock, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select(timeout=0.5):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        peers[key.fileobj].sendall(data)
                    if client.fileno() < 0 or server.fileno() < 0:
                        return
            except (OSError, ValueError):
                return
            finally:
                for sock in peers:
                    sock.close()
