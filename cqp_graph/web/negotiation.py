"""Content negotiation: pick the best offered media type for an Accept header."""

from __future__ import annotations


def parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    """(media range, q, position) sorted best first; an absent header accepts anything."""
    if not header:
        return [("*/*", 1.0, 0)]
    out = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        out.append((media, q, position))
    return sorted(out, key=lambda item: (-item[1], _specificity(item[0]), item[2]))


def _specificity(media: str) -> int:
    if media == "*/*":
        return 2
    if media.endswith("/*"):
        return 1
    return 0


def choose(header: str | None, offered: list[str]) -> str | None:
    """The offered type the client prefers most (offer order breaks ties); None if none is acceptable."""
    best, best_key = None, None
    for media, q, position in parse_accept(header):
        if q <= 0:
            continue
        for rank, offer in enumerate(offered):
            if media == offer or media == "*/*" or (media.endswith("/*") and offer.startswith(media[:-1])):
                key = (-q, _specificity(media), position, rank)
                if best_key is None or key < best_key:
                    best, best_key = offer, key
    return best
