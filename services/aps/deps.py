"""Named dependencies of the APS routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.aps.devices.credentials import Sealer
from services.aps.settings import Settings
from services.aps.telephony import Telephony, read_committed
from services.aps.vendors.catalog import Catalog
from services.extensions.client import ExtensionsClient


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _extensions(request: Request) -> ExtensionsClient:
    client: ExtensionsClient = request.app.state.extensions
    return client


def committed_telephony(request: Request) -> Telephony:
    """The latest telephony commit, read before the route's database transaction opens.

    The lookups built from it are kept while its content hash stays the same, and the
    document is not even sent again while its ETag still matches (with 10,000 extensions
    fetching and parsing it took most of a one-device APS commit).
    """
    state = request.app.state
    # One attribute for both, replaced in one step: concurrent requests never pair one
    # document's lookups with another document's ETag.
    kept: tuple[Telephony, str | None] | None = getattr(state, "telephony", None)
    cached, known = kept if kept is not None else (None, None)
    document, etag = _extensions(request).committed_unless(known)
    if document is None and cached is not None:
        return cached
    assert document is not None
    unchanged = (
        cached is not None
        and document.content_hash
        and (cached.content_hash, cached.revision) == (document.content_hash, document.revision)
    )
    telephony = cached if unchanged and cached is not None else read_committed(document)
    state.telephony = (telephony, etag)
    return telephony


CatalogDep = Annotated[Catalog, Depends(_catalog)]
SealerDep = Annotated[Sealer, Depends(_sealer)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ExtensionsDep = Annotated[ExtensionsClient, Depends(_extensions)]
TelephonyDep = Annotated[Telephony, Depends(committed_telephony)]
