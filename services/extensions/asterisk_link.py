"""The service's view of the running Asterisk over AMI, degraded gracefully.

Without AMI configured, or when Asterisk does not answer, registration is `unknown`,
notifications are `skipped` and live queue changes wait for the next commit: the
administrator's data is never refused because the PBX is away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from services.extensions.asterisk.ami import AmiClient, AmiConfig, AmiError, ContactInfo
from services.extensions.settings import Settings

log = logging.getLogger("shareline.extensions.ami")

Registration = Literal["registered", "unregistered", "unknown"]


@dataclass(frozen=True)
class ContactView:
    status: Registration
    user_agent: str | None = None
    uri: str | None = None


UNKNOWN = ContactView("unknown")


def ami_config(settings: Settings) -> AmiConfig | None:
    if not settings.ami_enabled:
        return None
    return AmiConfig(
        host=settings.ami_host,
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret.get_secret_value(),
        timeout=settings.ami_timeout_seconds,
    )


class AsteriskLink:
    def __init__(self, config: AmiConfig | None) -> None:
        self.config = config

    @property
    def enabled(self) -> bool:
        return self.config is not None

    def contacts(self, endpoints: list[str]) -> dict[str, ContactView]:
        """Registration of each endpoint; `unknown` for all when AMI is off or failing."""
        if self.config is None:
            return dict.fromkeys(endpoints, UNKNOWN)
        try:
            live = AmiClient(self.config).contacts()
        except AmiError as exc:
            log.warning("AMI contacts lookup failed: %s", exc)
            return dict.fromkeys(endpoints, UNKNOWN)
        return {e: _view(live.get(e)) for e in endpoints}

    def notify(self, endpoint: str, event: str) -> None:
        assert self.config is not None
        AmiClient(self.config).notify(endpoint, event)

    def queue_add(self, queue: str, interface: str, member_name: str, state: str) -> None:
        if self.config is None:
            return
        try:
            AmiClient(self.config).queue_add(queue, interface, member_name, state)
        except AmiError as exc:
            log.warning("live QueueAdd to %s failed; applied at the next reload: %s", queue, exc)

    def queue_remove(self, queue: str, interface: str) -> None:
        if self.config is None:
            return
        try:
            AmiClient(self.config).queue_remove(queue, interface)
        except AmiError as exc:
            log.warning(
                "live QueueRemove from %s failed; applied at the next reload: %s", queue, exc
            )


def _view(contact: ContactInfo | None) -> ContactView:
    if contact is None:
        return ContactView("unregistered")
    # A contact Asterisk reports as unreachable cannot be reached: not registered for us.
    return ContactView(
        "registered" if contact.status == "registered" else "unregistered",
        contact.user_agent,
        contact.uri,
    )
