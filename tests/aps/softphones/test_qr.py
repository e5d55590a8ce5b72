"""QR codes: what they carry (only the link) and the formats offered by Accept."""

from __future__ import annotations

import io

import defusedxml.ElementTree as SafeET
import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from services.aps.softphones import qr
from services.aps.softphones.errors import NotAcceptable
from services.aps.softphones.tokens import new_token


def decode_png(png: bytes) -> str:
    symbols = decode(Image.open(io.BytesIO(png)))
    assert len(symbols) == 1
    return symbols[0].data.decode()


def test_the_png_decodes_to_the_one_time_link_and_nothing_else() -> None:
    token = new_token()
    url = qr.provisioning_url("https://pbx.example.com:8443/", token)
    assert url == f"https://pbx.example.com:8443/provision/softphone/{token}"
    png = qr.render_png(url)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_png(png) == url


def test_the_svg_is_a_vector_image_of_the_same_code() -> None:
    url = qr.provisioning_url("http://127.0.0.1:8000", new_token())
    root = SafeET.fromstring(qr.render_svg(url))
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("path") for el in root.iter())


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, qr.PNG),
        ("*/*", qr.PNG),
        ("image/*", qr.PNG),
        ("image/svg+xml", qr.SVG),
        ("image/png;q=0.5, image/svg+xml", qr.SVG),
        ("image/svg+xml;q=0.1, image/png", qr.PNG),
        ("text/html, image/svg+xml;q=0.9", qr.SVG),
    ],
)
def test_the_accept_header_picks_png_or_svg(accept: str | None, expected: str) -> None:
    assert qr.choose_media_type(accept) == expected


@pytest.mark.parametrize("accept", ["application/json", "text/html", "image/png;q=0, image/gif"])
def test_an_accept_header_naming_neither_format_is_406(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        qr.choose_media_type(accept)
    assert caught.value.status == 406
    assert caught.value.extra["offered"] == [qr.PNG, qr.SVG]
