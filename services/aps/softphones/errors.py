"""The problems softphone provisioning answers, each with a stable `type`.

    NotFound
    ├── SoftphoneNotFound     device-not-found
    └── TokenUnknown          qr-token-unknown      (altered or never issued)
    Gone
    ├── TokenUsed             qr-token-used         (redeemed before)
    ├── TokenExpired          qr-token-expired
    └── TokenRevoked          qr-token-revoked      (replaced by a newer link, or its mail failed)
    Conflict
    ├── NotASoftphone         not-a-softphone
    ├── SlotNotCommitted      softphone-slot-not-committed
    └── NoIdentityEmail       no-identity-email
    NotAcceptable             not-acceptable (406)
    BadGateway
    └── MailFailed            mail-failed
    ServiceUnavailable
    └── MailNotConfigured     mail-not-configured

No message carries a token or a password.
"""

from __future__ import annotations

from services.common.errors import (
    BadGateway,
    Conflict,
    Gone,
    NotFound,
    ProblemError,
    ServiceUnavailable,
)


class SoftphoneNotFound(NotFound):
    slug, title = "device-not-found", "Device not found"


class TokenUnknown(NotFound):
    slug, title = "qr-token-unknown", "Provisioning link not found"


class TokenUsed(Gone):
    slug, title = "qr-token-used", "Provisioning link already used"


class TokenExpired(Gone):
    slug, title = "qr-token-expired", "Provisioning link expired"


class TokenRevoked(Gone):
    slug, title = "qr-token-revoked", "Provisioning link revoked"


class NotASoftphone(Conflict):
    slug, title = "not-a-softphone", "Not a softphone"


class SlotNotCommitted(Conflict):
    slug, title = "softphone-slot-not-committed", "Softphone slot not committed"


class NoIdentityEmail(Conflict):
    slug, title = "no-identity-email", "No e-mail address in the identity"


class NotAcceptable(ProblemError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class MailFailed(BadGateway):
    slug, title = "mail-failed", "The mail server did not take the message"


class MailNotConfigured(ServiceUnavailable):
    slug, title = "mail-not-configured", "No mail server configured"
