"""Revision files are stored compressed, and served byte for byte however they were stored."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, select

from services.extensions.tables import RevisionFile
from services.extensions.telephony import stored_files
from tests.extensions.test_telephony_commits import FILES, commit, create, files_of, live_files


def _stored_rows(api, rev: int) -> dict[str, bytes]:
    with Session(api.app.state.engine) as session:
        rows = session.exec(select(RevisionFile).where(RevisionFile.rev == rev)).all()
        return {row.name: row.content for row in rows}


async def test_files_are_stored_compressed_and_served_as_rendered(api, tmp_path):
    for number in range(100, 120):  # 40 secondary slots: the fake license has 50
        await create(api, str(number), shared={"enabled": True, "max_devices": 3})
    await commit(api)
    served = await files_of(api, 1)
    assert served == live_files(api, tmp_path)
    stored = _stored_rows(api, 1)
    for name in FILES:
        assert stored[name].startswith(stored_files.MARKER)
        assert stored_files.decode(stored[name]) == served[name]
    assert len(stored["pjsip_shareline.conf"]) * 5 < len(served["pjsip_shareline.conf"])


async def test_files_stored_before_compression_are_still_served_and_rolled_back(api, tmp_path):
    await create(api)
    await commit(api)
    rendered = await files_of(api, 1)
    # Revision 1 as an earlier version of the service stored it: the bytes themselves.
    with Session(api.app.state.engine) as session:
        for row in session.exec(select(RevisionFile).where(RevisionFile.rev == 1)).all():
            row.content = rendered[row.name]
            session.add(row)
        session.commit()
    assert _stored_rows(api, 1) == rendered
    assert await files_of(api, 1) == rendered
    listed = (await api.get("/api/v1/telephony/commits/1")).json()["files"]
    assert [f["sha256"] for f in listed] == [hashlib.sha256(rendered[n]).hexdigest() for n in FILES]
    await create(api, "101")
    await commit(api)
    rolled = await api.post("/api/v1/telephony/commits/1/rollback")
    assert rolled.status_code == 201, rolled.text
    assert live_files(api, tmp_path) == rendered
    assert await files_of(api, rolled.json()["revision"]["revision"]) == rendered


def test_decoding_reverses_encoding_for_any_bytes():
    for content in (b"", b"; x\n", bytes(range(256)) * 100):
        assert stored_files.decode(stored_files.encode(content)) == content
