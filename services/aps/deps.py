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

    The lookups built from it are kept while its content hash stays the same.
    """
    document = _extensions(request).committed()
    cached: Telephony | None = getattr(request.app.state, "telephony", None)
    if (
        cached is not None
        and document.content_hash
        and (cached.content_hash, cached.revision) == (document.content_hash, document.revision)
    ):
        return cached
    telephony = read_committed(document)
    request.app.state.telephony = telephony
    return telephony


CatalogDep = Annotated[Catalog, Depends(_catalog)]
SealerDep = Annotated[Sealer, Depends(_sealer)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ExtensionsDep = Annotated[ExtensionsClient, Depends(_extensions)]
TelephonyDep = Annotated[Telephony, Depends(committed_telephony)]
