"""A small keep-alive HTTP/1.1 client for the phone path: persistent connections to APS.

In a boot storm httpx/httpcore was over half of the gateway's CPU per phone fetch
(building the request and response models, the pool's bookkeeping). The phone path
needs little of it: a GET or HEAD, answered by APS with a Content-Length body. This
client writes the request itself over asyncio streams and parses the status line, the
headers and a Content-Length body; anything else it does not handle (chunked transfer
encoding, no Content-Length, a content coding) raises `Unhandled`, and the caller
falls back to httpx. A request on a reused connection that the server had closed is
retried once on a fresh connection (only GET and HEAD are sent through here).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

# uvicorn closes an idle keep-alive connection after 5 s; one idle longer than this is
# dropped rather than raced against that close.
IDLE_SECONDS = 4.0
MAX_IDLE = 100
MAX_HEAD_BYTES = 65_536


class Unhandled(Exception):
    """An answer this client does not parse; the request goes through httpx instead."""


class UpstreamTimeout(Exception):
    """No answer in time (connecting included)."""


class UpstreamUnreachable(Exception):
    """The connection could not be made, or broke before a whole answer came."""


class _Stale(Exception):
    """A reused connection broke before any byte of the answer: safe to retry."""


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class UpstreamPool:
    def __init__(self, host: str, port: int, *, timeout: float, connect_timeout: float) -> None:
        self.host = host
        self.port = port
        self.host_header = f"{host}:{port}".encode("latin-1")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._idle: list[Connection] = []
        self.opened = 0  # connections made, for tests and profiles

    @classmethod
    def for_url(cls, url: str, *, timeout: float, connect_timeout: float) -> UpstreamPool | None:
        """A pool for a plain `http://host:port` base URL; None for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            return None
        if parts.query or parts.fragment or parts.username or parts.password:
            return None
        host = parts.hostname
        if ":" in host:
            return None  # IPv6 literals: left to httpx
        return cls(host, parts.port or 80, timeout=timeout, connect_timeout=connect_timeout)

    async def request(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]]
    ) -> Answer:
        """Send a bodyless GET or HEAD; the status, the headers and the body."""
        lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", self.host_header]
        for name, value in headers:
            lines += (b"\r\n", name, b": ", value)
        lines.append(b"\r\n\r\n")
        data = b"".join(lines)
        try:
            async with asyncio.timeout(self.timeout):
                connection = self._take()
                if connection is not None:
                    try:
                        return await self._exchange(connection, data, method, reused=True)
                    except _Stale:
                        pass
                return await self._exchange(await self._open(), data, method, reused=False)
        except TimeoutError as exc:
            raise UpstreamTimeout() from exc

    def _take(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < IDLE_SECONDS and not reader.at_eof() and not writer.is_closing():
                return reader, writer, since
            writer.close()
        return None

    async def _open(self) -> Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise UpstreamUnreachable(type(exc).__name__) from exc
        self.opened += 1
        return reader, writer, time.monotonic()

    async def _exchange(
        self, connection: Connection, data: bytes, method: str, *, reused: bool
    ) -> Answer:
        reader, writer, _ = connection
        keep = False
        try:
            try:
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if reused and not exc.partial:
                    raise _Stale() from exc
                raise UpstreamUnreachable("IncompleteRead") from exc
            except asyncio.LimitOverrunError as exc:
                raise Unhandled("response head too large") from exc
            except OSError as exc:
                if reused:
                    raise _Stale() from exc
                raise UpstreamUnreachable(type(exc).__name__) from exc
            status, answer_headers, length, keep = _parse_head(head)
            if method == "HEAD" or status < 200 or status in (204, 304):
                body = b""
            elif length is None:
                raise Unhandled("no Content-Length")
            else:
                try:
                    body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, OSError) as exc:
                    raise UpstreamUnreachable(type(exc).__name__) from exc
            return status, answer_headers, body
        except BaseException:
            keep = False
            raise
        finally:
            if keep and len(self._idle) < MAX_IDLE:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer, _ in idle:
            writer.close()


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool]:
    """Status, headers (names lowercased), Content-Length and whether to keep the connection."""
    lines = head[:-4].split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if (
        len(status_line) < 2
        or not status_line[0].startswith(b"HTTP/1.")
        or not status_line[1].isdigit()
    ):
        raise Unhandled("malformed status line")
    keep = status_line[0] == b"HTTP/1.1"
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise Unhandled("malformed header line")
        name, value = name.lower(), value.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and length != int(value)):
                raise Unhandled("bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            raise Unhandled("transfer coding")
        elif name == b"content-encoding" and value.lower() != b"identity":
            raise Unhandled("content coding")
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens:
                keep = True
        headers.append((name, value))
    return int(status_line[1]), headers, length, keep
