"""APS keeps the committed telephony and asks again with its ETag: 304 until a commit."""

from __future__ import annotations

from tests.extensions.test_internal_api import pair, setup_100

__all__ = ["pair"]


async def test_an_unchanged_commit_is_not_sent_again_and_a_new_commit_is(pair):
    http, aps = pair
    await setup_100(http)
    await http.post("/api/v1/telephony/commits")
    first, etag = await aps("committed_unless", None)
    assert first is not None and first.revision == 1 and etag

    again, same = await aps("committed_unless", etag)
    assert (again, same) == (None, etag)

    # Pending edits change nothing APS sees; a commit does.
    await http.patch("/api/v1/extensions/100", json={"name": "Renamed"})
    assert (await aps("committed_unless", etag))[0] is None
    await http.post("/api/v1/telephony/commits")
    newer, new_etag = await aps("committed_unless", etag)
    assert newer is not None and newer.revision == 2 and new_etag != etag
    assert newer.extensions[0].name == "Renamed"


async def test_a_stale_or_foreign_etag_gets_the_whole_document(pair):
    http, aps = pair
    await setup_100(http)
    await http.post("/api/v1/telephony/commits")
    document, etag = await aps("committed_unless", '"not-the-current-one"')
    assert document is not None and document.revision == 1 and etag != '"not-the-current-one"'
