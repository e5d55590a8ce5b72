"""Telephony commits: pending diff, immutable revisions, determinism, rollback, deploy."""

from __future__ import annotations

import asyncio
import os

from sqlmodel import Session, select

from services.extensions.tables import Extension, Revision
from tests.extensions.conftest import extension_body
from tests.support.ami_server import FakeAmi

FILES = ["extensions_shareline.conf", "pjsip_shareline.conf", "queues_shareline.conf"]


async def create(api, number="100", **fields):
    response = await api.post("/api/v1/extensions", json=extension_body(number, **fields))
    assert response.status_code == 201, response.text


async def commit(api, expected=201):
    response = await api.post("/api/v1/telephony/commits")
    assert response.status_code == expected, response.text
    return response.json()


async def files_of(api, rev):
    return {
        name: (await api.get(f"/api/v1/telephony/commits/{rev}/files/{name}")).content
        for name in FILES
    }


def live_files(api, settings_dir):
    live = settings_dir / "asterisk" / "live"
    return {name: (live / name).read_bytes() for name in FILES}


async def test_first_commit_renders_deploys_and_records_the_actor(api, tmp_path):
    await create(api, shared={"enabled": True, "max_devices": 2})
    result = await commit(api)
    revision = result["revision"]
    assert result["changed"] is True
    assert revision["revision"] == 1 and revision["committed_by"] == "alice-admin"
    assert revision["deploy"]["status"] == "reload-skipped"
    assert [f["name"] for f in revision["files"]] == FILES
    pjsip = (await files_of(api, 1))["pjsip_shareline.conf"]
    assert b"[100_2]" in pjsip
    assert live_files(api, tmp_path) == await files_of(api, 1)


async def test_commit_without_change_is_byte_identical_and_makes_no_revision(api, tmp_path):
    await create(api)
    first = await commit(api)
    mtime = os.stat(tmp_path / "asterisk" / "live").st_mtime_ns
    again = await commit(api, expected=200)
    assert again["changed"] is False
    assert again["revision"]["revision"] == 1
    assert again["revision"]["content_hash"] == first["revision"]["content_hash"]
    listed = (await api.get("/api/v1/telephony/commits")).json()
    assert [r["revision"] for r in listed["items"]] == [1] and listed["current_revision"] == 1
    assert os.stat(tmp_path / "asterisk" / "live").st_mtime_ns == mtime


async def test_changes_show_the_pending_diff_against_the_last_commit(api):
    empty = (await api.get("/api/v1/telephony/changes")).json()
    assert empty["changed"] is False and empty["base_revision"] is None
    await create(api, shared={"enabled": True, "max_devices": 2})
    await commit(api)
    assert (await api.get("/api/v1/telephony/changes")).json()["changed"] is False
    await create(api, "101")
    await api.patch(
        "/api/v1/extensions/100",
        json={"password": "Zyxwvutsrq9876543210abc", "shared": {"max_devices": 3}},
    )
    await api.patch("/api/v1/extensions/100/slots/100_2", json={"ring_mode": "silent"})
    await api.post("/api/v1/queues", json={"name": "support", "number": "600"})
    changes = (await api.get("/api/v1/telephony/changes")).json()
    assert changes["base_revision"] == 1 and changes["changed"] is True
    assert changes["extensions"] == {
        "added": ["101"],
        "removed": [],
        "changed": [{"number": "100", "fields": ["password"]}],
    }
    assert changes["slots"]["added"] == ["100_3", "101"]
    assert changes["slots"]["changed"] == [{"auth_name": "100_2", "fields": ["ring_mode"]}]
    assert changes["queues"]["added"] == ["support"]
    assert "Zyxwvutsrq" not in str(changes)
    await commit(api)
    assert (await api.get("/api/v1/telephony/changes")).json()["changed"] is False


async def test_output_does_not_depend_on_the_order_data_was_entered(make_api, tmp_path):
    first = await make_api(data_dir=tmp_path / "a")
    for number in ("101", "100"):
        await create(first, number)
    second = await make_api(
        data_dir=tmp_path / "b", extensions_database_url=f"sqlite:///{tmp_path / 'b.db'}"
    )
    for number in ("100", "101"):
        await create(second, number)
    one, two = await commit(first), await commit(second)
    assert one["revision"]["content_hash"] == two["revision"]["content_hash"]
    assert await files_of(first, 1) == await files_of(second, 1)


async def test_rollback_redeploys_old_files_byte_for_byte_as_a_new_revision(api, tmp_path):
    await create(api)
    await commit(api)
    old = await files_of(api, 1)
    await create(api, "101")
    await commit(api)
    assert live_files(api, tmp_path) != old
    rolled = await api.post("/api/v1/telephony/commits/1/rollback")
    assert rolled.status_code == 201
    revision = rolled.json()["revision"]
    assert (revision["revision"], revision["kind"], revision["source_revision"]) == (
        3,
        "rollback",
        1,
    )
    assert await files_of(api, 3) == old
    assert live_files(api, tmp_path) == old
    # The data still has 101: the next commit would put it back.
    assert (await api.get("/api/v1/telephony/changes")).json()["extensions"]["added"] == ["101"]
    again = await api.post("/api/v1/telephony/commits/3/rollback")
    assert again.status_code == 200 and again.json()["changed"] is False


async def test_unknown_revision_or_file_is_404(api):
    await create(api)
    await commit(api)
    assert (await api.get("/api/v1/telephony/commits/9")).status_code == 404
    missing = await api.get("/api/v1/telephony/commits/1/files/secret.conf")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:shareline:problem:revision-file-not-found"
    assert (await api.post("/api/v1/telephony/commits/9/rollback")).status_code == 404


async def test_unsafe_value_in_the_database_fails_the_commit_and_stores_nothing(api, tmp_path):
    await create(api)
    with Session(api.app.state.engine) as session:
        row = session.get(Extension, "100")
        row.name = "Eve\n[evil]"
        session.add(row)
        session.commit()
    response = await api.post("/api/v1/telephony/commits")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:shareline:problem:unsafe-config-value"
    with Session(api.app.state.engine) as session:
        assert session.exec(select(Revision)).all() == []
    # Only the empty revision 0 of the service's first start is live.
    assert os.readlink(tmp_path / "asterisk" / "live") == "revisions/0"


async def test_concurrent_commits_serialize_and_the_last_state_stays_live(api, tmp_path):
    await create(api)
    results = await asyncio.gather(*(api.post("/api/v1/telephony/commits") for _ in range(3)))
    assert sorted(r.status_code for r in results) == [200, 200, 201]
    listed = (await api.get("/api/v1/telephony/commits")).json()
    assert listed["current_revision"] == 1 and len(listed["items"]) == 1
    assert os.readlink(tmp_path / "asterisk" / "live").endswith("1")


async def test_with_asterisk_a_commit_reloads_and_verifies_the_endpoints(make_api):
    with FakeAmi(endpoints={"100", "100_2"}) as ami:
        config = ami.config()
        api = await make_api(
            ami_host=config.host,
            ami_port=config.port,
            ami_username=config.username,
            ami_secret=config.secret,
        )
        await create(api, shared={"enabled": True, "max_devices": 2})
        deployed = await commit(api)
        assert deployed["revision"]["deploy"]["status"] == "deployed"
        reloads = ami.state.names().count("Reload")
        assert reloads > 0
        unchanged = await commit(api, expected=200)
        assert unchanged["changed"] is False
        assert ami.state.names().count("Reload") == reloads
        # Asterisk does not report 101 after the reload: the deploy rolls back.
        await create(api, "101")
        failed = await commit(api)
        assert failed["revision"]["deploy"]["status"] == "rolled-back"
        listed = (await api.get("/api/v1/telephony/commits")).json()
        assert listed["current_revision"] == 1
        assert (await api.get("/api/v1/telephony/changes")).json()["extensions"]["added"] == ["101"]


async def test_the_snapshot_is_read_in_one_pass_whatever_the_size(api):
    from sqlalchemy import event

    from services.common.db import READ, unit_of_work
    from services.extensions.telephony.state import build_state

    engine = api.app.state.engine
    settings = api.app.state.settings

    def count_queries() -> int:
        seen: list[str] = []

        def on_execute(*args) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            with unit_of_work(engine, READ) as session:
                build_state(session, settings)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        return len(seen)

    await create(api)
    few = count_queries()
    for number in range(101, 121):
        await create(api, str(number), shared={"enabled": True, "max_devices": 2})
    assert count_queries() == few


async def test_commits_racing_with_edits_leave_the_newest_revision_live(api, tmp_path):
    await create(api)

    async def edit_then_commit(name: str) -> None:
        await api.patch("/api/v1/extensions/100", json={"name": name})
        await api.post("/api/v1/telephony/commits")

    await asyncio.gather(*(edit_then_commit(n) for n in ("Ann", "Bea", "Cy", "Di")))
    listed = (await api.get("/api/v1/telephony/commits")).json()
    current = listed["current_revision"]
    assert current == max(r["revision"] for r in listed["items"])
    assert os.readlink(tmp_path / "asterisk" / "live").endswith(f"/{current}")
    live = (tmp_path / "asterisk" / "live" / "pjsip_shareline.conf").read_bytes()
    assert live == (await files_of(api, current))["pjsip_shareline.conf"]
    # The last commit saw the last edit: nothing is left pending.
    assert (await api.get("/api/v1/telephony/changes")).json()["changed"] is False
