"""Integration tests against a real Asterisk (`asterisk` marker).

They run when `SHARELINE_ASTERISK_BIN` names an Asterisk binary and sipp (Debian
`sip-tester`) is installed — `make test-asterisk` — and are skipped, with the reason,
otherwise (CI has no Asterisk).

One world per session: Asterisk on loopback ports with the administrator's own files
(tests/asterisk/pbx.py), the four ShareLine processes (tests/support/suite.py) deploying
into the folder Asterisk includes, over AMI as the least-privilege `shareline` user.

The first telephony revision is written before Asterisk starts, with AMI off: the
administrator's `#include` lines name files that exist only after ShareLine's first
commit, and Asterisk refuses a whole configuration file whose `#include` target is
missing (pbx_config then declines to load and cannot be reloaded). Every later revision
goes through the real deployment path: files, AMI reload, endpoint verification.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.asterisk.pbx import Asterisk, asterisk_bin, free_port_block
from tests.asterisk.sipp import SIPP, Call, Phone
from tests.support.suite import Suite

HERE = Path(__file__).parent

PASSWORDS = {
    "100": "Qm7vT2xKp9LrW4nZa8Hc3Ys",
    "101": "Vn3rT8kLw2QpZ6xYc4Hm9Bd",
    "200": "Bd4kN8wPq2ZtR6mXy9Lf5Jh",
    "300": "Hc5wL9pTz3MkQ7vRx2Nd8Fg",
}
EXTENSIONS = [
    {
        "number": "100",
        "name": "Alice Martin",
        "identity": {"full_name": "Alice Martin", "email": "alice@example.com"},
        "password": PASSWORDS["100"],
        "shared": {"enabled": True, "max_devices": 3},
        "no_answer": {"voicemail": False, "ring_seconds": 8},
    },
    {
        "number": "101",
        "name": "Dana Voss",
        "identity": {"full_name": "Dana Voss"},
        "password": PASSWORDS["101"],
        "no_answer": {"voicemail": True, "ring_seconds": 5},
    },
    {
        "number": "300",
        "name": "Carol Diaz",
        "identity": {"full_name": "Carol Diaz"},
        "password": PASSWORDS["300"],
        "shared": {"enabled": True, "max_devices": 3},
        "no_answer": {"voicemail": False, "ring_seconds": 6},
    },
]
BOOTSTRAP = {
    "number": "200",
    "name": "Bob Keller",
    "identity": {"full_name": "Bob Keller"},
    "password": PASSWORDS["200"],
}
QUEUE = {"name": "support", "number": "600"}
DEVICES = [
    {
        "id": "00:15:65:17:00:01",
        "vendor": "yealink",
        "model": "T46U",
        "lines": [{"line": 1, "auth_name": "100"}],
    },
    {
        "id": "0004.f217.0002",
        "vendor": "poly",
        "model": "VVX450",
        "lines": [{"line": 1, "auth_name": "200"}, {"line": 2, "auth_name": "100_2"}],
    },
    {
        "id": "0C-38-00-17-00-03",
        "vendor": "fanvil",
        "model": "X4",
        "lines": [{"line": 1, "auth_name": "100_3"}],
    },
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    binary = asterisk_bin()
    if binary is None:
        reason = (
            "no Asterisk: set SHARELINE_ASTERISK_BIN to an asterisk binary "
            "(make test-asterisk; see docs/asterisk.md)"
        )
    elif not os.access(binary, os.X_OK):
        reason = f"SHARELINE_ASTERISK_BIN={binary} is not an executable file"
    elif SIPP is None:
        reason = "sipp is not installed (Debian package sip-tester; make test-asterisk)"
    else:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("asterisk") is not None:
            item.add_marker(skip)


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@dataclass
class World:
    root: Path
    pbx: Asterisk
    suite: Suite
    admin: httpx.Client
    phones: list[Phone] = field(default_factory=list)

    @property
    def server(self) -> tuple[str, int]:
        return ("127.0.0.1", self.pbx.sip_port)

    def commit(self) -> dict:
        result = ok(self.admin.post("/api/v1/telephony/commits"), 201)
        return result

    def password(self, auth_name: str) -> str:
        return PASSWORDS[auth_name.split("_")[0]]

    def phone(self, auth_name: str, answer_after_ms: int | None = None) -> Phone:
        phone = Phone(
            self.root / "sipp",
            self.server,
            free_port_block(),
            auth_name,
            self.password(auth_name),
            answer_after_ms,
        )
        phone.start()
        self.phones.append(phone)
        return phone

    @contextmanager
    def registered(self, *specs: str | tuple[str, int | None]) -> Iterator[dict[str, Phone]]:
        """Phones for the given slots (`"100"` rings; `("100", 1000)` answers after 1 s),
        registered for the block and unregistered after it."""
        phones: dict[str, Phone] = {}
        try:
            for spec in specs:
                name, answer = (spec, None) if isinstance(spec, str) else spec
                phones[name] = self.phone(name, answer)
            for name, phone in phones.items():
                assert phone.wait_registered(), f"{name} did not register"
            self.wait_contacts(set(phones))
            yield phones
        finally:
            for phone in phones.values():
                phone.stop()
            self.wait_contacts(set(), among=set(phones))

    def contacts(self) -> set[str]:
        with self.pbx.observer().session() as ami:
            events = ami.event_list({"Action": "PJSIPShowContacts"}, "ContactListComplete")
        return {
            e.get("Endpoint") or e.get("Aor", "") for e in events if e.get("Event") == "ContactList"
        }

    def wait_contacts(
        self, want: set[str], among: set[str] | None = None, timeout: float = 10.0
    ) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:
            have = self.contacts()
            if among is not None:
                have &= among
            if want <= have and (among is None or have == want):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"contacts {sorted(have)}, wanted {sorted(want)}")
            time.sleep(0.2)

    def call(self, caller: str, target: str, hold_ms: int = 2000) -> Call:
        return Call(
            self.root / "sipp",
            self.server,
            free_port_block(),
            caller,
            self.password(caller),
            target,
            hold_ms,
        ).start()


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    binary = asterisk_bin()
    assert binary is not None
    root = tmp_path_factory.mktemp("asterisk-it")
    config_dir = root / "shareline-asterisk"
    pbx = Asterisk(root / "pbx", config_dir, binary)
    env = {
        "SHARELINE_ASTERISK_CONFIG_DIR": str(config_dir),
        "SHARELINE_SIP_PORT": str(pbx.sip_port),
    }
    suite = Suite(root / "suite", extra_env=env)
    suite.start_all()
    admin = suite.admin_client()
    try:
        # Revision 1, before Asterisk runs: AMI off, the included files come to exist.
        ok(admin.post("/api/v1/extensions", json=BOOTSTRAP), 201)
        first = ok(admin.post("/api/v1/telephony/commits"), 201)
        assert first["revision"]["deploy"]["status"] == "reload-skipped", first
        pbx.start()
        # From now on the extensions service reaches Asterisk over AMI.
        suite.stop("extensions")
        suite.extra_env.update(pbx.ami_env())
        suite.start("extensions")
        world = World(root, pbx, suite, admin)
        yield world
    finally:
        admin.close()
        suite.stop_all()
        pbx.stop()


@pytest.fixture(scope="session")
def provisioned(world: World) -> World:
    """Revision 2 through AMI: extensions 100 (3 slots), 101 (voicemail), 300 (distinctive
    and silent slots), queue 600; and an APS commit for three devices."""
    admin = world.admin
    for body in EXTENSIONS:
        ok(admin.post("/api/v1/extensions", json=body), 201)
    ok(
        admin.patch(
            "/api/v1/extensions/300/slots/300_2", json={"ring_mode": "distinctive", "tone": 2}
        )
    )
    ok(admin.patch("/api/v1/extensions/300/slots/300_3", json={"ring_mode": "silent"}))
    ok(admin.post("/api/v1/queues", json=QUEUE), 201)
    result = world.commit()
    assert result["revision"]["deploy"]["status"] == "deployed", result
    for device in DEVICES:
        ok(admin.post("/api/v1/aps/devices", json=device), 201)
    ok(admin.post("/api/v1/aps/commits"), 201)
    return world
