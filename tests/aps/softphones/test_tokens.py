"""The one-time token store on a real database: hashed, single use, atomic, expiring."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from services.aps.softphones import tokens
from services.aps.softphones.errors import TokenExpired, TokenRevoked, TokenUnknown, TokenUsed
from services.aps.softphones.models import SoftphoneToken
from services.aps.softphones.status import qr_status
from services.common.db import READ, WRITE, create_db_engine, create_tables, unit_of_work
from tests.aps.softphones.support import add_device
from tests.support.databases import make_database_url, postgres_admin_url

NOW = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
TTL = 900
DEVICE = "sp-aaaaaaaaaaaaaaaaaaaa"
BROWSER = tokens.Redemption(
    user_agent="LinphoneAndroid/5.2", address="198.51.100.7", format="linphone"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(make_database_url(tmp_path, "aps"))
    create_tables(engine, "aps")
    add_device(engine, DEVICE, "100_2")
    yield engine
    engine.dispose()


def issue(engine: Engine, now: datetime = NOW) -> tokens.IssuedToken:
    with unit_of_work(engine, WRITE) as session:
        return tokens.issue(session, DEVICE, now=now, ttl_seconds=TTL, issued_by="admin")


def redeem(engine: Engine, token: str, now: datetime = NOW) -> SoftphoneToken:
    with unit_of_work(engine, WRITE) as session:
        return tokens.redeem(session, token, now=now, redemption=BROWSER)


def test_a_token_has_256_random_bits_and_only_its_hash_is_stored(engine, tmp_path) -> None:
    issued = issue(engine)
    assert len(issued.token) == 43 and tokens.is_token_shaped(issued.token)
    assert issued.token != issue(engine).token
    with unit_of_work(engine, READ) as session:
        rows = session.exec(select(SoftphoneToken)).all()
    stored = [str(value) for row in rows for value in row.model_dump().values()]
    assert hashlib.sha256(issued.token.encode()).hexdigest() in stored
    assert not any(issued.token in value for value in stored)
    if not postgres_admin_url():  # the bytes on disk, WAL included, never hold the token
        engine.dispose()
        on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("aps.db*"))
        assert issued.token.encode() not in on_disk


def test_a_token_is_redeemed_once_then_gone(engine) -> None:
    issued = issue(engine)
    row = redeem(engine, issued.token)
    assert row.redeemed_user_agent == "LinphoneAndroid/5.2"
    with pytest.raises(TokenUsed):
        redeem(engine, issued.token, NOW + timedelta(seconds=1))


@pytest.mark.parametrize("threads", [2, 20])
def test_of_concurrent_redemptions_exactly_one_wins(engine, threads: int) -> None:
    issued = issue(engine)
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            redeem(engine, issued.token)
            outcome = "won"
        except TokenUsed:
            outcome = "used"
        except Exception as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(outcomes) == ["used"] * (threads - 1) + ["won"]


def test_issuing_again_revokes_the_earlier_token(engine) -> None:
    first = issue(engine)
    second = issue(engine, NOW + timedelta(seconds=5))
    with pytest.raises(TokenRevoked):
        redeem(engine, first.token, NOW + timedelta(seconds=6))
    assert redeem(engine, second.token, NOW + timedelta(seconds=6)).redeemed_at is not None


def test_an_expired_token_is_refused_and_stays_unused(engine) -> None:
    issued = issue(engine)
    with pytest.raises(TokenExpired):
        redeem(engine, issued.token, NOW + timedelta(seconds=TTL))
    with unit_of_work(engine, READ) as session:
        row = session.exec(select(SoftphoneToken)).one()
    assert row.redeemed_at is None


def test_a_token_one_character_off_is_unknown(engine) -> None:
    issued = issue(engine)
    last = issued.token[-1]
    altered = issued.token[:-1] + ("A" if last != "A" else "B")
    for candidate in (altered, issued.token[:-1], issued.token + "x", "../" + issued.token[3:]):
        with pytest.raises(TokenUnknown):
            redeem(engine, candidate)
    assert redeem(engine, issued.token).redeemed_at is not None


def test_status_shows_the_outstanding_token_then_who_redeemed_it(engine) -> None:
    with unit_of_work(engine, READ) as session:
        assert qr_status(session, DEVICE, now=NOW).outstanding is False
    issued = issue(engine)
    with unit_of_work(engine, READ) as session:
        status = qr_status(session, DEVICE, now=NOW)
    assert status.outstanding and status.expires_at == NOW + timedelta(seconds=TTL)
    redeem(engine, issued.token, NOW + timedelta(seconds=60))
    with unit_of_work(engine, READ) as session:
        status = qr_status(session, DEVICE, now=NOW + timedelta(seconds=61))
    assert status.outstanding is False
    assert status.redeemed_at == NOW + timedelta(seconds=60)
    assert (status.redeemed_user_agent, status.redeemed_address) == (
        "LinphoneAndroid/5.2",
        "198.51.100.7",
    )
    with unit_of_work(engine, READ) as session:
        later = qr_status(session, DEVICE, now=NOW + timedelta(seconds=TTL + 1))
    assert later.outstanding is False
