"""Two APS replicas on one database: a commit on one reaches the other's phones, and an
enrolment seen by one closes the site credential on the other."""

from __future__ import annotations

from services.aps.app import create_app
from tests.aps.support import FakeExtensions, admin_headers, phone_headers, site

DESK = "001565000001"


async def test_a_second_replica_follows_commits_and_enrolments(aps, lifespan_client) -> None:
    other_app = create_app(aps.settings, extensions=FakeExtensions().client(aps.settings))
    other = await lifespan_client(other_app, headers=admin_headers())
    assert (await aps.create(DESK, "yealink", "T46U", [(1, "100")])).status_code == 201
    await aps.commit()
    other_app.state.index.refresh(other_app.state.engine)  # what its 1-second check does
    served = await other.get(f"/provision/{DESK}.cfg", headers=site())
    assert served.status_code == 200
    assert (
        served.headers["etag"]
        == (await aps.client.get(f"/provision/{DESK}.cfg", headers=site())).headers["etag"]
    )

    own = aps.device_password(DESK)
    enrolled = await aps.client.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    assert enrolled.status_code == 200
    aps.app.state.fetches.flush(aps.app.state.engine)  # what its 1-second flush does
    assert (await other.get(f"/provision/{DESK}.cfg", headers=site())).status_code == 401
    assert (
        await other.get(f"/provision/{DESK}.cfg", headers=phone_headers(DESK, own))
    ).status_code == 200
