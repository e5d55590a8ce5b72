"""A fake Asterisk Manager Interface speaking the real wire protocol, for tests.

It greets with `Asterisk Call Manager/…`, checks the login, echoes every ActionID, and
answers listings the way Asterisk does (`EventList: start`, one event per object, then
a `…Complete` event). Its state is plain data a test scripts:

    with FakeAmi(endpoints={"100"}) as ami:
        ami.state.reload_errors["app_queue.so"] = "Module does not support reloading"
        AmiClient(ami.config()).reload(["app_queue.so"])   # raises AmiActionFailed

`on_reload(module)` lets a test model what a reload does (e.g. read the live config).
Runs on 127.0.0.1 on a free port, one thread per connection.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from services.extensions.asterisk.ami import AmiConfig

USERNAME = "shareline"
SECRET = "fake-ami-secret-3c9d"
BANNER = "Asterisk Call Manager/9.0.0"


@dataclass
class Member:
    interface: str
    name: str
    state_interface: str
    membership: str = "dynamic"


@dataclass
class AmiState:
    endpoints: set[str] = field(default_factory=set)
    # aor -> (uri, user agent, qualify status)
    contacts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    queues: dict[str, dict[str, Member]] = field(default_factory=dict)
    reload_errors: dict[str, str] = field(default_factory=dict)
    reloads_busy: int = 0  # answer this many Reloads with "A reload is in progress"
    on_reload: Callable[[str], None] | None = None
    stall: bool = False  # accept the connection, never answer
    actions: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self) -> list[str]:
        with self.lock:
            return [a.get("Action", "") for a in self.actions]

    def wait_for(self, action: str, timeout: float = 2.0) -> None:
        """Wait until `action` has arrived (a client sends Logoff without awaiting it)."""
        deadline = time.monotonic() + timeout
        while action not in self.names():
            if time.monotonic() > deadline:
                raise AssertionError(f"{action} never arrived; got {self.names()}")
            time.sleep(0.005)


Packet = dict[str, str]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        state = self.server.state
        if state.stall:
            self.rfile.read()  # until the client gives up and closes
            return
        self._write_raw(BANNER + "\r\n")
        logged_in = False
        while True:
            packet = self._read_packet()
            if packet is None:
                return
            with state.lock:
                state.actions.append(packet)
            action = packet.get("Action", "").lower()
            action_id = packet.get("ActionID")
            if action == "login":
                logged_in = packet.get("Username") == USERNAME and packet.get("Secret") == SECRET
                message = "Authentication accepted" if logged_in else "Authentication failed"
                self._reply(action_id, "Success" if logged_in else "Error", message)
                if not logged_in:
                    return
            elif action == "logoff":
                self._reply(action_id, "Goodbye", "Thanks for all the fish.")
                return
            elif not logged_in:
                self._reply(action_id, "Error", "Missing action in request")
            else:
                getattr(self, f"_do_{action}", self._unknown)(packet, action_id)

    # --- wire -------------------------------------------------------------------------

    def _read_packet(self) -> Packet | None:
        packet: Packet = {}
        while True:
            raw = self.rfile.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if packet:
                    return packet
                continue
            key, _, value = line.partition(":")
            packet.setdefault(key.strip(), value.strip())

    def _write_raw(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()

    def _send(self, fields: Packet, action_id: str | None) -> None:
        if action_id is not None:
            fields = {**fields, "ActionID": action_id}
        self._write_raw("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n")

    def _reply(self, action_id: str | None, response: str, message: str) -> None:
        self._send({"Response": response, "Message": message}, action_id)

    def _list(self, action_id: str | None, events: list[Packet], complete: str) -> None:
        if not events and complete != "QueueStatusComplete":
            self._reply(action_id, "Error", f"No {complete[:-12].lower()}s found")
            return
        self._send({"Response": "Success", "EventList": "start", "Message": "follows"}, action_id)
        # An unsolicited event in the middle, as a busy Asterisk would send.
        self._send({"Event": "PeerStatus", "Privilege": "system,all"}, None)
        for event in events:
            self._send(event, action_id)
        done = {"Event": complete, "EventList": "Complete", "ListItems": str(len(events))}
        self._send(done, action_id)

    # --- actions ----------------------------------------------------------------------

    def _unknown(self, packet: Packet, action_id: str | None) -> None:
        self._reply(action_id, "Error", "Invalid/unknown command")

    def _do_ping(self, packet: Packet, action_id: str | None) -> None:
        self._send({"Response": "Success", "Ping": "Pong"}, action_id)

    def _do_reload(self, packet: Packet, action_id: str | None) -> None:
        state, module = self.server.state, packet.get("Module", "")
        if state.reloads_busy > 0:
            state.reloads_busy -= 1
            self._reply(action_id, "Error", "A reload is in progress")
            return
        if module in state.reload_errors:
            self._reply(action_id, "Error", state.reload_errors[module])
            return
        if state.on_reload is not None:
            state.on_reload(module)
        self._reply(action_id, "Success", "Module Reloaded")

    def _do_pjsipshowendpoints(self, packet: Packet, action_id: str | None) -> None:
        events = [
            {"Event": "EndpointList", "ObjectType": "endpoint", "ObjectName": name, "Aor": name}
            for name in sorted(self.server.state.endpoints)
        ]
        self._list(action_id, events, "EndpointListComplete")

    def _do_pjsipshowcontacts(self, packet: Packet, action_id: str | None) -> None:
        events = [
            {
                "Event": "ContactList",
                "ObjectType": "contact",
                "ObjectName": f"{aor};@5e1f2a",
                "Uri": uri,
                "UserAgent": agent,
                "Status": status,
                "Endpoint": aor,
            }
            for aor, (uri, agent, status) in sorted(self.server.state.contacts.items())
        ]
        self._list(action_id, events, "ContactListComplete")

    def _do_pjsipnotify(self, packet: Packet, action_id: str | None) -> None:
        if packet.get("Endpoint") not in self.server.state.endpoints:
            self._reply(action_id, "Error", "Unable to retrieve endpoint")
        elif packet.get("Endpoint") not in self.server.state.contacts:
            self._reply(action_id, "Error", "No contacts found for endpoint")
        else:
            self._reply(action_id, "Success", "NOTIFY sent")

    def _do_queueadd(self, packet: Packet, action_id: str | None) -> None:
        members = self.server.state.queues.get(packet.get("Queue", ""))
        interface = packet.get("Interface", "")
        if members is None:
            self._reply(action_id, "Error", "Unable to add interface to queue: No such queue")
        elif interface in members:
            self._reply(action_id, "Error", "Unable to add interface: Already there")
        else:
            members[interface] = Member(
                interface, packet.get("MemberName", ""), packet.get("StateInterface", "")
            )
            self._reply(action_id, "Success", "Added interface to queue")

    def _do_queueremove(self, packet: Packet, action_id: str | None) -> None:
        members = self.server.state.queues.get(packet.get("Queue", ""))
        interface = packet.get("Interface", "")
        if members is None or interface not in members:
            self._reply(action_id, "Error", "Unable to remove interface: Not there")
        elif members[interface].membership != "dynamic":
            self._reply(action_id, "Error", "Unable to remove interface: Not dynamic")
        else:
            del members[interface]
            self._reply(action_id, "Success", "Removed interface from queue")

    def _do_queuestatus(self, packet: Packet, action_id: str | None) -> None:
        events: list[Packet] = []
        for name, members in sorted(self.server.state.queues.items()):
            events.append(
                {"Event": "QueueParams", "Queue": name, "Strategy": "ringall", "Calls": "0"}
            )
            events += [
                {
                    "Event": "QueueMember",
                    "Queue": name,
                    "MemberName": m.name,
                    "Interface": m.interface,
                    "StateInterface": m.state_interface,
                    "Membership": m.membership,
                    "Status": "1",
                    "Paused": "0",
                }
                for m in members.values()
            ]
        self._list(action_id, events, "QueueStatusComplete")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: AmiState


class FakeAmi:
    """A running fake AMI server; a context manager that stops it on exit."""

    def __init__(self, **state: object) -> None:
        self.state = AmiState(**state)  # type: ignore[arg-type]
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def config(self, secret: str = SECRET, timeout: float = 2.0) -> AmiConfig:
        return AmiConfig("127.0.0.1", self.port, USERNAME, secret, timeout)

    def __enter__(self) -> FakeAmi:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (for connection-refused tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
