"""Who is asking: the client's address, and the MAC its User-Agent names."""

from __future__ import annotations

import re

from fastapi import Request

from services.common.service_tokens import Caller

_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_UA_MACS = (
    re.compile(r"([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\s*$"),  # Yealink colon form
    re.compile(r"\bDevId ([0-9a-fA-F]{12})\b"),  # Grandstream
    re.compile(r"\s([0-9a-fA-F]{12})\s*\)?\s*$"),  # Yealink T5x, Fanvil, Cisco SPA
    re.compile(r"\bsnom\w+-SIP\s[\d.]+\s.+?\s([0-9A-F]{12})\b"),  # Snom
)


def client_address(request: Request, caller: Caller) -> str:
    """The phone's address: X-Forwarded-For only when the gateway vouches for it."""
    if caller.service == "gateway":
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1][:64]
    return request.client.host if request.client else "unknown"


def safe_filename(name: str) -> bool:
    """Letters, digits, dot, dash, underscore; no `..`; nothing that names a folder."""
    return bool(_FILENAME.fullmatch(name)) and ".." not in name


def mac_from_user_agent(user_agent: str) -> str | None:
    for pattern in _UA_MACS:
        match = pattern.search(user_agent)
        if match:
            return match.group(1).replace(":", "").lower()
    return None
