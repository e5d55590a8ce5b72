"""What the softphone routes share in one APS process: settings, clients and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.aps.settings import Settings
from services.aps.softphones.settings import SoftphoneSettings
from services.common.service_app import minter_for
from services.extensions.client import ExtensionsClient
from services.licensing.client import LicensingClient

SERVICE = "aps"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Softphones:
    """Built at start-up (`start`), closed at shutdown; tests may swap the clock."""

    settings: SoftphoneSettings
    public_base_url: str
    extensions: ExtensionsClient
    licensing: LicensingClient
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def start(cls, settings: Settings, extensions: ExtensionsClient) -> Softphones:
        """Shares the app's extensions client; owns a licensing client of its own."""
        return cls(
            settings=settings,
            public_base_url=settings.public_base_url,
            extensions=extensions,
            licensing=LicensingClient(
                settings.licensing_url,
                minter_for(settings, SERVICE, "licensing"),
                timeout=settings.upstream_timeout_seconds,
            ),
        )

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.licensing.close()
