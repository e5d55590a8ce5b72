"""The QR code of a provisioning link, as PNG or SVG, chosen by the Accept header."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from services.aps.softphones.negotiation import negotiate

if TYPE_CHECKING:
    import qrcode

# qrcode and Pillow are imported when a code is drawn, not at start-up: ~4.5 MiB that
# every APS process would otherwise hold for a rarely used route.

PNG = "image/png"
SVG = "image/svg+xml"


def provisioning_url(public_base_url: str, token: str) -> str:
    """All a QR code ever carries: the one-time link, never a password."""
    return f"{public_base_url.rstrip('/')}/provision/softphone/{token}"


def _code(data: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    import qrcode

    # Level M survives a smudged screen or print; border 4 is the standard quiet zone.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def render_png(data: str) -> bytes:
    from qrcode.image.pil import PilImage

    buffer = io.BytesIO()
    _code(data).make_image(image_factory=PilImage).save(buffer)
    return buffer.getvalue()


def render_svg(data: str) -> bytes:
    import qrcode.image.svg

    buffer = io.BytesIO()
    _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


def render(data: str, media_type: str) -> bytes:
    return render_svg(data) if media_type == SVG else render_png(data)


def choose_media_type(accept: str | None) -> str:
    """PNG unless the client prefers SVG; 406 when it accepts neither."""
    return negotiate(accept, {PNG: PNG, SVG: SVG}, PNG)
