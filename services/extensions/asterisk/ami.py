"""A small, synchronous Asterisk Manager Interface (AMI) client.

Each operation opens its own TCP connection, logs in, runs its actions and logs off:
the extensions routes are plain `def` functions and AMI calls are rare (commits, slot
listings, resyncs), so a connection per operation keeps state out of the process and is
safe across replicas. Every socket read and write has a deadline (`AmiConfig.timeout`
for the whole operation).

    AmiError (502)          anything that went wrong: connect, login, protocol, refusal
    └── AmiActionFailed     Asterisk answered `Response: Error` to an action

Error messages name the host, the action and Asterisk's own message, never the secret.
"""

from __future__ import annotations

import itertools
import re
import secrets
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from services.common.errors import BadGateway

Packet = dict[str, str]
# One value of an AMI header line: a CR or LF would end the line and let the rest of the
# value be read as a further header or a whole new action.
_SAFE_VALUE = re.compile(r"[^\r\n\x00]*")
_NOTIFY_EVENT = re.compile(r"[A-Za-z0-9._;=-]{1,64}")
_MAX_LIST_EVENTS = 1_000_000
_MAX_LINE = 65_536
_RELOAD_RETRY_SECONDS = 0.2


class AmiError(BadGateway):
    """Asterisk could not be reached, refused the login, or broke the protocol."""

    slug = "asterisk-unavailable"
    title = "Asterisk is unavailable"


class AmiActionFailed(AmiError):
    """Asterisk answered an action with `Response: Error`."""

    slug = "asterisk-action-failed"
    title = "Asterisk refused an action"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"Asterisk refused {action}: {message}")
        self.action = action
        self.message = message


@dataclass(frozen=True)
class AmiConfig:
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    timeout: float = 5.0


@dataclass(frozen=True)
class ContactInfo:
    """A registered contact of one of our AORs (AOR name = endpoint name = slot)."""

    endpoint: str
    aor: str
    status: Literal["registered", "unreachable"]
    qualify_status: str
    user_agent: str | None
    uri: str | None


@dataclass(frozen=True)
class QueueMemberInfo:
    interface: str
    name: str
    state_interface: str
    membership: str  # "static" (queues.conf) or "dynamic" (AddQueueMember / QueueAdd)
    status: str  # Asterisk's device-state number, e.g. "1" not in use, "2" in use
    paused: bool


@dataclass(frozen=True)
class QueueInfo:
    name: str
    strategy: str
    calls: int
    members: tuple[QueueMemberInfo, ...]


_action_ids = itertools.count(1)


def _new_action_id() -> str:
    return f"shareline-{next(_action_ids)}-{secrets.token_hex(4)}"


def _check_value(key: str, value: str) -> str:
    if not _SAFE_VALUE.fullmatch(value):
        raise AmiError(f"AMI header {key} contains a line break or NUL; not sent")
    return value


class AmiSession:
    """One logged-in AMI connection; use `AmiClient`, which opens and closes these."""

    def __init__(self, config: AmiConfig) -> None:
        self.config = config
        self._deadline = time.monotonic() + config.timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    @property
    def _where(self) -> str:
        return f"AMI at {self.config.host}:{self.config.port}"

    def remaining(self) -> float:
        """Seconds left before this operation's deadline; raises `AmiError` when none."""
        return self._remaining()

    def _remaining(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise AmiError(f"{self._where} did not answer within {self.config.timeout:g} s")
        return left

    def open(self) -> None:
        try:
            self._sock = socket.create_connection(
                (self.config.host, self.config.port), timeout=self._remaining()
            )
        except OSError as exc:
            raise AmiError(f"cannot connect to {self._where}: {exc.strerror or exc}") from None
        banner = self._read_line()
        if not banner.startswith("Asterisk Call Manager/"):
            raise AmiError(f"{self._where} did not greet as an Asterisk Call Manager")
        response = self.action(
            {
                "Action": "Login",
                "Username": self.config.username,
                "Secret": self.config.secret,
                "Events": "off",
            },
            check=False,
        )
        if response.get("Response") != "Success":
            # Asterisk's message ("Authentication failed") never contains the secret.
            raise AmiError(f"{self._where} refused the login of user {self.config.username}")

    def close(self) -> None:
        if self._sock is None:
            return
        try:
            if time.monotonic() < self._deadline:
                self._send({"Action": "Logoff", "ActionID": _new_action_id()})
        except (OSError, AmiError):
            pass  # the connection is being dropped anyway
        finally:
            self._sock.close()
            self._sock = None

    # --- wire format ----------------------------------------------------------------

    def _send(self, fields: Mapping[str, str]) -> None:
        assert self._sock is not None
        lines = [f"{k}: {_check_value(k, v)}\r\n" for k, v in fields.items()]
        data = ("".join(lines) + "\r\n").encode("utf-8")
        try:
            self._sock.settimeout(self._remaining())
            self._sock.sendall(data)
        except OSError as exc:
            raise AmiError(f"lost the connection to {self._where}: {exc}") from None

    def _read_line(self) -> str:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            if len(self._buffer) > _MAX_LINE:
                raise AmiError(f"{self._where} sent an over-long line")
            try:
                self._sock.settimeout(self._remaining())
                chunk = self._sock.recv(65_536)
            except TimeoutError:
                raise AmiError(
                    f"{self._where} did not answer within {self.config.timeout:g} s"
                ) from None
            except OSError as exc:
                raise AmiError(f"lost the connection to {self._where}: {exc}") from None
            if not chunk:
                raise AmiError(f"{self._where} closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", errors="replace")

    def _read_packet(self) -> Packet:
        packet: Packet = {}
        while True:
            line = self._read_line()
            if not line:
                if packet:
                    return packet
                continue  # blank lines between packets
            key, sep, value = line.partition(":")
            if sep:
                # A repeated key (rare: Variable) keeps the first value.
                packet.setdefault(key.strip(), value.strip())

    def _read_reply(self, action_id: str) -> Packet:
        while True:
            packet = self._read_packet()
            # Unsolicited events (no or another ActionID) are not ours to handle.
            if packet.get("ActionID") == action_id:
                return packet

    # --- actions --------------------------------------------------------------------

    def action(self, fields: Mapping[str, str], *, check: bool = True) -> Packet:
        """Send one action and return its response packet."""
        action_id = _new_action_id()
        self._send({**fields, "ActionID": action_id})
        response = self._read_reply(action_id)
        if check and response.get("Response") != "Success":
            raise AmiActionFailed(fields["Action"], response.get("Message", "no message"))
        return response

    def event_list(self, fields: Mapping[str, str], complete: str) -> list[Packet]:
        """Send a listing action and collect its events up to the `complete` event."""
        action_id = _new_action_id()
        self._send({**fields, "ActionID": action_id})
        response = self._read_reply(action_id)
        if response.get("Response") != "Success":
            message = response.get("Message", "")
            if re.fullmatch(r"No .* found\.?", message, re.IGNORECASE):
                return []  # Asterisk answers an empty listing with an error
            raise AmiActionFailed(fields["Action"], message or "no message")
        events: list[Packet] = []
        for _ in range(_MAX_LIST_EVENTS):
            packet = self._read_reply(action_id)
            if packet.get("Event") == complete:
                return events
            events.append(packet)
        raise AmiError(f"{fields['Action']} on {self._where} never completed")


class AmiClient:
    """The AMI operations ShareLine needs; each opens and closes its own connection."""

    def __init__(self, config: AmiConfig) -> None:
        self.config = config

    @contextmanager
    def session(self) -> Iterator[AmiSession]:
        session = AmiSession(self.config)
        try:
            session.open()
            yield session
        finally:
            session.close()

    def ping(self) -> None:
        with self.session() as ami:
            ami.action({"Action": "Ping"})

    def reload(self, modules: list[str]) -> None:
        """Reload each module in order; the first refusal raises `AmiActionFailed`."""
        with self.session() as ami:
            for module in modules:
                self._reload_one(ami, module)

    def _reload_one(self, ami: AmiSession, module: str) -> None:
        while True:
            response = ami.action({"Action": "Reload", "Module": module}, check=False)
            if response.get("Response") == "Success":
                return
            message = response.get("Message", "no message")
            # Someone else's reload (CLI, another tool) is running: wait for it, within
            # the operation's deadline, instead of failing the deploy.
            if "in progress" not in message.lower():
                raise AmiActionFailed(f"Reload of {module}", message)
            time.sleep(min(_RELOAD_RETRY_SECONDS, ami.remaining()))

    def endpoints(self) -> set[str]:
        with self.session() as ami:
            events = ami.event_list({"Action": "PJSIPShowEndpoints"}, "EndpointListComplete")
        return {e["ObjectName"] for e in events if e.get("Event") == "EndpointList"}

    def contacts(self) -> dict[str, ContactInfo]:
        """Registered contacts by endpoint (our AOR and endpoint names are the same)."""
        with self.session() as ami:
            events = ami.event_list({"Action": "PJSIPShowContacts"}, "ContactListComplete")
        found: dict[str, ContactInfo] = {}
        for event in events:
            if event.get("Event") != "ContactList":
                continue
            contact = _contact(event)
            found.setdefault(contact.endpoint, contact)
        return found

    def notify(self, endpoint: str, event: str) -> str:
        """Send a SIP NOTIFY (e.g. `check-sync`) to an endpoint's contacts."""
        if not _NOTIFY_EVENT.fullmatch(event):
            raise AmiError("the NOTIFY event name contains characters AMI may not carry")
        with self.session() as ami:
            response = ami.action(
                {"Action": "PJSIPNotify", "Endpoint": endpoint, "Variable": f"Event={event}"}
            )
        return response.get("Message", "")

    def queue_add(self, queue: str, interface: str, member_name: str, state_interface: str) -> None:
        """Add a dynamic member; an interface already in the queue counts as done."""
        with self.session() as ami:
            response = ami.action(
                {
                    "Action": "QueueAdd",
                    "Queue": queue,
                    "Interface": interface,
                    "Penalty": "0",
                    "Paused": "false",
                    "MemberName": member_name,
                    "StateInterface": state_interface,
                },
                check=False,
            )
        _idempotent("QueueAdd", response, "already there")

    def queue_remove(self, queue: str, interface: str) -> None:
        """Remove a dynamic member; an interface not in the queue counts as done."""
        with self.session() as ami:
            response = ami.action(
                {"Action": "QueueRemove", "Queue": queue, "Interface": interface}, check=False
            )
        _idempotent("QueueRemove", response, "not there")

    def queue_status(self) -> dict[str, QueueInfo]:
        with self.session() as ami:
            events = ami.event_list({"Action": "QueueStatus"}, "QueueStatusComplete")
        return _queues(events)


def _idempotent(action: str, response: Packet, harmless: str) -> None:
    if response.get("Response") == "Success":
        return
    message = response.get("Message", "no message")
    if harmless not in message.lower():
        raise AmiActionFailed(action, message)


def _contact(event: Packet) -> ContactInfo:
    # ObjectName is "<aor>;@<hash>" (or "<aor>@@<hash>" in older versions).
    aor = event.get("Aor") or re.split(r";@|@@", event.get("ObjectName", ""), maxsplit=1)[0]
    qualify = event.get("Status", "Unknown")
    return ContactInfo(
        endpoint=event.get("Endpoint") or aor,
        aor=aor,
        status="unreachable" if qualify.lower() == "unreachable" else "registered",
        qualify_status=qualify,
        user_agent=event.get("UserAgent") or None,
        uri=event.get("Uri") or None,
    )


def _queues(events: list[Packet]) -> dict[str, QueueInfo]:
    params = {e["Queue"]: e for e in events if e.get("Event") == "QueueParams"}
    members: dict[str, list[QueueMemberInfo]] = {name: [] for name in params}
    for e in events:
        if e.get("Event") != "QueueMember":
            continue
        members.setdefault(e["Queue"], []).append(
            QueueMemberInfo(
                interface=e.get("Interface") or e.get("Location", ""),
                name=e.get("MemberName") or e.get("Name", ""),
                state_interface=e.get("StateInterface", ""),
                membership=e.get("Membership", ""),
                status=e.get("Status", ""),
                paused=e.get("Paused", "0") not in ("0", "false", ""),
            )
        )
    return {
        name: QueueInfo(
            name=name,
            strategy=params.get(name, {}).get("Strategy", ""),
            calls=int(params.get(name, {}).get("Calls", "0") or 0),
            members=tuple(sorted(found, key=lambda m: m.interface)),
        )
        for name, found in sorted(members.items())
    }
