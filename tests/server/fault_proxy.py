"""A loopback HTTP proxy in front of the real Docent server that misbehaves on purpose.

Every ``every``-th request that adds runs (``POST /rest/{collection}/agent_runs``) meets the fault
of ``mode``; everything else goes through unchanged. It keeps a log of each request (when it
arrived, what was done) so that a test can check what a client did, such as coming back before
the ``Retry-After`` it was given. Listens on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

import psutil

Mode = Literal["none", "429", "503", "lost", "slow", "reset"]
RetryAfter = Literal["seconds", "date", "absent"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Logged:
    """One request as the proxy saw it: when (wall clock), what, and what it did."""

    at: float
    method: str
    path: str
    fault: str
    client: int | None
    """The process that sent it (Ray runs several senders at once)."""
    not_before: float | None = None
    """With a ``Retry-After``: the wall-clock time before which the client should not come back."""


@dataclass
class FaultProxy:
    upstream: str
    mode: Mode = "none"
    every: int = 3
    retry_after: RetryAfter = "seconds"
    wait_seconds: int = 2
    """The ``Retry-After`` asked, and how late a slow answer comes."""
    after_stored: Callable[[int, int], bool] | None = None
    """Called with the number of batches stored through the proxy and the client's port, after
    the server stored a batch and before the client hears; True: the client is gone (killed),
    the answer is not sent."""
    log: list[Logged] = field(default_factory=list)
    _adding: int = 0
    _stored: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def faults(self) -> list[Logged]:
        return [entry for entry in self.log if entry.fault not in ("", "forwarded")]

    def early(self) -> list[Logged]:
        """Requests that arrived before the ``Retry-After`` of an earlier answer to the same
        process."""
        early = []
        for index, entry in enumerate(self.log):
            if entry.not_before is None:
                continue
            early += [
                later
                for later in self.log[index + 1 :]
                if later.client == entry.client and later.at < entry.not_before
            ]
        return early

    def _decide(self, method: str, path: str) -> str:
        with self._lock:
            if method != "POST" or not path.endswith("/agent_runs"):
                return ""
            self._adding += 1
            return self.mode if self.mode != "none" and self._adding % self.every == 0 else ""


def _process_of(port: int) -> int | None:
    """The process whose TCP connection comes from this loopback port."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.pid:
            return int(connection.pid)
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a connection cut on purpose


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = owner._decide(self.command, self.path)
        client = _process_of(self.client_address[1])
        entry = Logged(time.time(), self.command, self.path, fault or "forwarded", client)
        with owner._lock:
            owner.log.append(entry)
        if fault in ("429", "503"):
            self._busy(int(fault), entry)
            return
        if fault == "reset":
            self._reset()
            return
        try:
            status, headers, answer = self._forward(body)
        except OSError:
            status, headers, answer = 502, [], b"Bad Gateway: the Docent server is not answering"
        if self._stored(status):
            return
        if fault == "lost":  # stored, and the answer never comes
            self._reset()
            return
        if fault == "slow":
            time.sleep(owner.wait_seconds)
        self._answer(status, headers, answer)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urlsplit(self.owner.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, response.read()
        finally:
            connection.close()

    def _stored(self, status: int) -> bool:
        """Tell ``after_stored`` of a batch the server stored; True when the client is gone."""
        owner = self.owner
        if owner.after_stored is None or self.command != "POST" or status >= 300:
            return False
        if not self.path.endswith("/agent_runs"):
            return False
        with owner._lock:
            owner._stored += 1
            stored = owner._stored
        if owner.after_stored(stored, self.client_address[1]):
            self._reset()
            return True
        return False

    def _busy(self, status: int, entry: Logged) -> None:
        owner, headers = self.owner, []
        now = time.time()
        if owner.retry_after == "seconds":
            headers.append(("Retry-After", str(owner.wait_seconds)))
            entry.not_before = now + owner.wait_seconds
        elif owner.retry_after == "date":
            from datetime import UTC, datetime  # noqa: PLC0415

            when = datetime.fromtimestamp(now + owner.wait_seconds, UTC).replace(microsecond=0)
            headers.append(("Retry-After", format_datetime(when, usegmt=True)))
            entry.not_before = when.timestamp()
        message = b'{"detail": "busy"}'
        self._answer(status, [("Content-Type", "application/json"), *headers], message)

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Cut the connection with a TCP reset, answering nothing."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            return
