"""A real SMTP server process for tests: aiosmtpd writing every message to a maildir."""

from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from tests.support.suite import free_port


@dataclass
class SmtpServer:
    port: int
    maildir: Path

    def messages(self) -> list[Message]:
        return list(mailbox.Maildir(self.maildir, create=False))

    def clear(self) -> None:
        mailbox.Maildir(self.maildir, create=False).clear()


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"aiosmtpd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("aiosmtpd did not start listening")


@contextmanager
def smtp_server(root: Path, *, max_size: int | None = None) -> Iterator[SmtpServer]:
    """`python -m aiosmtpd -n -c aiosmtpd.handlers.Mailbox <dir> -l 127.0.0.1:<port>`."""
    port = free_port()
    maildir = root / f"maildir-{port}"
    mailbox.Maildir(maildir, create=True)
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    if max_size is not None:
        command += ["-s", str(max_size)]
    command += ["-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)
        yield SmtpServer(port, maildir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
