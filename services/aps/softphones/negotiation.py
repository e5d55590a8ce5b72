"""Choosing a representation from an Accept header (RFC 9110 quality values)."""

from __future__ import annotations

from collections.abc import Mapping

from services.aps.softphones.errors import NotAcceptable


def negotiate(accept: str | None, offered: Mapping[str, str], default: str) -> str:
    """The offer (`offered` maps media type → result) the client ranks highest.

    No Accept header, `*/*` or a matching `type/*` gives `default`; accepting nothing
    offered is a 406 problem listing what is offered.
    """
    if not accept or not accept.strip():
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        quality = _quality(params)
        if quality > 0:
            ranked.append((-quality, position, media.strip().lower()))
    default_media = next((m for m, result in offered.items() if result == default), "")
    for _q, _pos, media in sorted(ranked):
        if media in offered:
            return offered[media]
        if media == "*/*" or (media.endswith("/*") and default_media.startswith(media[:-1])):
            return default
        if media.endswith("/*"):
            match = next((r for m, r in offered.items() if m.startswith(media[:-1])), None)
            if match is not None:
                return match
    raise NotAcceptable(
        "this resource is offered as " + " or ".join(offered), offered=list(offered)
    )


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
