"""What a write needs besides its body: the session, settings, saga seam, PBX link, actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlmodel import Session

from services.common.deps import SessionDep
from services.common.errors import Forbidden
from services.common.service_tokens import Caller, CallerDep
from services.extensions.asterisk_link import AsteriskLink
from services.extensions.licensing_seam import LicenseSeam, request_key
from services.extensions.settings import Settings


@dataclass(frozen=True)
class WriteContext:
    session: Session
    settings: Settings
    seam: LicenseSeam
    link: AsteriskLink
    caller: Caller
    key: str  # the saga's idempotency key for this request

    @property
    def actor(self) -> str:
        return self.caller.actor

    @property
    def licensing_actor(self) -> tuple[str | None, str | None]:
        return (self.caller.user, self.caller.role)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_link(request: Request) -> AsteriskLink:
    link: AsteriskLink = request.app.state.asterisk_link
    return link


def write_context(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Optional: repeat a request safely; license reservations reuse it",
            max_length=200,
        ),
    ] = None,
) -> WriteContext:
    return WriteContext(
        session=session,
        settings=get_settings(request),
        seam=request.app.state.license_seam,
        link=get_link(request),
        caller=caller,
        key=request_key(idempotency_key),
    )


WriteDep = Annotated[WriteContext, Depends(write_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LinkDep = Annotated[AsteriskLink, Depends(get_link)]


SECRET_READER_ROLES = frozenset({"operator", "admin"})


def secret_reader(caller: CallerDep) -> Caller:
    """Reading a SIP password needs an operator: a viewer may read everything else."""
    if caller.user is not None and caller.role not in SECRET_READER_ROLES:
        raise Forbidden(
            "reading SIP passwords needs the operator or admin role", required_role="operator"
        )
    return caller


SecretReaderDep = Annotated[Caller, Depends(secret_reader)]
